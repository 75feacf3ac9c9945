-- Update fields of a record only if it still exists, then announce the change.
-- KEYS: job record.  ARGV: events channel, then field, value pairs.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[1], 'changed')
return 1
