--[[
  Writes records unless the stored record of the same key has a newer event timestamp.
  Equal timestamps overwrite, so re-running a materialization is idempotent.

  Input (N = number of keys, variable; passed as numKeys):
    KEYS[1..N]      record keys: {prefix}:{project}:{view}:{entityKey}
    ARGV[1..N]      event timestamps in ms (decimal strings) of the records below
    ARGV[N+1..2N]   records: msgpack of [eventTsMs, ...values]; ARGV[N+i] belongs to KEYS[i]

  Output:
    { written, skippedStale }

  Rows are applied in order, so a later row of the same key sees an earlier one. A stored value that
  is not a msgpack array is overwritten rather than failing the whole batch.
]]
local n = #KEYS
local written = 0
local skippedStale = 0

for i = 1, n do
  local key = KEYS[i]
  local eventTsMs = tonumber(ARGV[i])
  local stored = redis.call('GET', key)
  local storedTsMs = nil
  if stored then
    -- cmsgpack.unpack returns the record (one msgpack array) as one Lua table.
    local ok, record = pcall(cmsgpack.unpack, stored)
    if ok and type(record) == 'table' and type(record[1]) == 'number' then
      storedTsMs = record[1]
    end
  end
  if storedTsMs ~= nil and storedTsMs > eventTsMs then
    skippedStale = skippedStale + 1
  else
    redis.call('SET', key, ARGV[n + i])
    written = written + 1
  end
end

return { written, skippedStale }
