-- Record a step of a running job, unless its client cancelled it or the job was claimed
-- again since this run's claim (the run is superseded): one round trip per step.
-- KEYS: job record.
-- ARGV: events channel, progress (JSON), the run's attempt (its claim's; '' unfenced).
-- Returns 1 when recorded, 0 when the job is gone, -1 when its cancellation was requested,
-- -2 when the run was superseded.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and (redis.call('HGET', KEYS[1], 'attempts') or '0') ~= ARGV[3] then
  return -2
end
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return -1 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[1], 'changed')
return 1
