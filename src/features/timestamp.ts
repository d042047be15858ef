/**
 * RFC 3339 UTC timestamps as Feast (protobuf JSON) prints them: no fractional part when the
 * milliseconds are zero. Hand-rolled because Date#toISOString was ~6% of a 100-entity lookup:
 * integer date arithmetic (Howard Hinnant's days-to-civil) without allocating a Date, and for the
 * JSON writer straight into bytes, without building a string at all.
 */
const MS_PER_DAY = 86_400_000;
const ZERO = 0x30;

/** Calendar fields of the last civil() call: year, month, day, hours, minutes, seconds, millis. */
const fields = new Int32Array(7);

/** Fills `fields` from `ms`; false for years outside 0000-9999 (they need Date's extended format). */
function civil(ms: number): boolean {
  if (!(ms >= -62_167_219_200_000 && ms < 253_402_300_800_000)) return false;
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;

  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  fields[0] = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  fields[1] = month;
  fields[2] = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  fields[3] = hours;
  fields[4] = minutes;
  fields[5] = seconds;
  fields[6] = millis;
  return true;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

export function formatTimestamp(ms: number): string {
  if (!civil(ms)) return new Date(ms).toISOString();
  const year = fields[0]!;
  const yyyy = year < 1000 ? `${year}`.padStart(4, '0') : `${year}`;
  const base = `${yyyy}-${pad2(fields[1]!)}-${pad2(fields[2]!)}T${pad2(fields[3]!)}:${pad2(fields[4]!)}:${pad2(fields[5]!)}`;
  return fields[6] === 0 ? `${base}Z` : `${base}.${pad3(fields[6]!)}Z`;
}

/** Room writeQuotedTimestamp() may need: `"YYYY-MM-DDTHH:MM:SS.mmmZ"`. */
export const QUOTED_TIMESTAMP_BYTES = 26;

/**
 * Writes `"<formatTimestamp(ms)>"` as ASCII into `buf` at `at` and returns where it ends, or -1
 * (nothing written) for a year outside 0000-9999: the caller then writes formatTimestamp()'s text.
 */
export function writeQuotedTimestamp(buf: Uint8Array, at: number, ms: number): number {
  if (!civil(ms)) return -1;
  const year = fields[0]!;
  buf[at] = 0x22;
  buf[at + 1] = ZERO + Math.floor(year / 1000);
  buf[at + 2] = ZERO + (Math.floor(year / 100) % 10);
  buf[at + 3] = ZERO + (Math.floor(year / 10) % 10);
  buf[at + 4] = ZERO + (year % 10);
  buf[at + 5] = 0x2d; // -
  two(buf, at + 6, fields[1]!);
  buf[at + 8] = 0x2d;
  two(buf, at + 9, fields[2]!);
  buf[at + 11] = 0x54; // T
  two(buf, at + 12, fields[3]!);
  buf[at + 14] = 0x3a; // :
  two(buf, at + 15, fields[4]!);
  buf[at + 17] = 0x3a;
  two(buf, at + 18, fields[5]!);
  let end = at + 20;
  const millis = fields[6]!;
  if (millis !== 0) {
    buf[end] = 0x2e; // .
    buf[end + 1] = ZERO + Math.floor(millis / 100);
    buf[end + 2] = ZERO + (Math.floor(millis / 10) % 10);
    buf[end + 3] = ZERO + (millis % 10);
    end += 4;
  }
  buf[end] = 0x5a; // Z
  buf[end + 1] = 0x22;
  return end + 2;
}

function two(buf: Uint8Array, at: number, n: number): void {
  const tens = Math.floor(n / 10);
  buf[at] = ZERO + tens;
  buf[at + 1] = ZERO + (n - tens * 10);
}
