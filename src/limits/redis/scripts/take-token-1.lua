--[[
  Takes one token from a token bucket, first refilling it for the time elapsed since its last change.
  The clock is the Redis server's (TIME), never the caller's, so instances whose clocks disagree
  still share one consistent bucket. The script is atomic: concurrent takes from any number of
  instances are applied one after another, so exactly `burst` of a burst of takes succeed.

  Input:
    KEYS[1]  the bucket: a hash { tokens = <float>, tsUs = <server time of the last change, µs> }
    ARGV[1]  tokensPerSecond (decimal, > 0)
    ARGV[2]  burst: the capacity (integer >= 1)

  Output:
    { allowed (1 | 0), remaining (whole tokens left), retryAfterUs (0 when allowed), resetUs }
    resetUs is the time until the bucket is full again.

  Storage: a missing key is a full bucket. The key expires when the bucket would be full again
  (PEXPIRE), so idle subjects disappear by themselves and cost no memory. A refused take writes
  nothing (the refill is recomputed from the stored state next time, with the same result).
]]
-- Redis < 5 replicates scripts verbatim and refuses a write after TIME unless told to replicate
-- effects; Redis >= 5 does that by default (and 7 ignores this call).
if redis.replicate_commands then redis.replicate_commands() end

local key = KEYS[1]
local tokensPerSecond = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])

local time = redis.call('TIME')
-- Seconds * 1e6 + µs stays below 2^53, so it is exact in Lua's doubles.
local nowUs = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tokens = burst
local stored = redis.call('HMGET', key, 'tokens', 'tsUs')
if stored[1] and stored[2] then
  local elapsedUs = nowUs - tonumber(stored[2])
  if elapsedUs < 0 then elapsedUs = 0 end
  tokens = math.min(burst, tonumber(stored[1]) + elapsedUs * tokensPerSecond / 1000000)
end

local allowed = 0
if tokens >= 1 then
  allowed = 1
  tokens = tokens - 1
  local fullInMs = math.ceil((burst - tokens) * 1000 / tokensPerSecond)
  -- %.17g keeps the fraction exact; a plain number would be cut to an integer reply.
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'tsUs', string.format('%.17g', nowUs))
  redis.call('PEXPIRE', key, math.max(1, fullInMs))
end

local retryAfterUs = 0
if allowed == 0 then retryAfterUs = math.ceil((1 - tokens) * 1000000 / tokensPerSecond) end
local resetUs = math.ceil((burst - tokens) * 1000000 / tokensPerSecond)
return { allowed, math.floor(tokens), retryAfterUs, resetUs }
