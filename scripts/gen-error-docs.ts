/** Rewrites the table in docs/errors.md from the catalogue (`npm run docs:errors`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_CATALOGUE } from '../src/errors.ts';
import { STATUS_BY_KIND } from '../src/http/error-handler.ts';

const file = new URL('../docs/errors.md', import.meta.url);
const doc = readFileSync(file, 'utf8');
const header = '| code | HTTP | kind | message |\n| --- | --- | --- | --- |\n';
const rows = Object.entries(ERROR_CATALOGUE)
  .map(
    ([code, e]) =>
      `| \`${code}\` | ${STATUS_BY_KIND[e.kind]} | ${e.kind} | ${e.message.replace(/\|/g, '\\|')} |`,
  )
  .join('\n');
writeFileSync(file, `${doc.slice(0, doc.indexOf(header))}${header}${rows}\n`);
