-- Keep the last ARGV[2] run times of a kind and type and store their mean under ARGV[3].
-- KEYS: durations list, mean-duration hash.  ARGV: seconds, how many to keep, field name
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local recent = redis.call('LRANGE', KEYS[1], 0, -1)
local total = 0
for _, seconds in ipairs(recent) do total = total + tonumber(seconds) end
redis.call('HSET', KEYS[2], ARGV[3], string.format('%.6f', total / #recent))
return #recent
