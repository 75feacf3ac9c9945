-- Record an attempt of a delivery; under the current lease, also its new status and
-- its next attempt (an empty next time: none).
-- KEYS: delivery, its attempts, due set.
-- ARGV: id, lease token, attempt (JSON), status, next time, ttl
-- Returns 1 when the status was written, 0 when the lease had moved on (stale attempt).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[6])
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[1], 'nextAt')
else
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  redis.call('HSET', KEYS[1], 'nextAt', ARGV[5])
end
return 1
