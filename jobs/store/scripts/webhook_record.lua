-- Record an attempt of a delivery; under the current lease, also its new status and
-- its next attempt (an empty next time: none). When the delivery has ended (not
-- pending), the job's next pending delivery, if it was waiting behind it (+inf), is
-- leased at once for the caller to attempt.
-- KEYS: delivery, its attempts, due set, the job's deliveries.
-- ARGV: id, lease token, attempt (JSON), status, next time, ttl, delivery key prefix,
--       lease end, now.
-- Returns {written (1/0), next id or '', next token or 0}; written 0 when the lease
-- had moved on (stale attempt).
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, '', 0} end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[6])
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[2] then return {0, '', 0} end
redis.call('HSET', KEYS[1], 'status', ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[1], 'nextAt')
else
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  redis.call('HSET', KEYS[1], 'nextAt', ARGV[5])
end
if ARGV[4] == 'pending' then return {1, '', 0} end
local after = first_pending(KEYS[4], ARGV[7])
if not after or redis.call('ZSCORE', KEYS[3], after) ~= 'inf' then return {1, '', 0} end
local key = ARGV[7] .. after
redis.call('ZADD', KEYS[3], ARGV[8], after)
redis.call('HSET', key, 'nextAt', ARGV[9])
return {1, after, redis.call('HINCRBY', key, 'lease', 1)}
