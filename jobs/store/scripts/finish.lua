-- Record the end of a run, unless the job was claimed again since this run's claim (its
-- worker was cut off and another worker took the job over: the later run has the last
-- word) or failed meanwhile (the deadline check found it lost: its client may have seen
-- Failed, which must not change). A success's Celery result is stored in the same step,
-- so a record never says finished without its result.
-- KEYS: job record, Celery result.
-- ARGV: events channel, the run's attempt (its claim's; '' for a run that claimed
--       nothing: unfenced), Celery result ('' for none), result seconds, then field,
--       value pairs.
-- Returns 1 when recorded, 0 when the job is gone, -1 when the run was superseded.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local attempts, failed = unpack(redis.call('HMGET', KEYS[1], 'attempts', 'error'))
if ARGV[2] ~= '' and ((attempts or '0') ~= ARGV[2] or failed) then return -1 end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  redis.call('PUBLISH', KEYS[2], ARGV[3])  -- as Celery's backend announces a result
end
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[1], 'changed')
return 1
