-- A job's whole state in one round trip: its record, Celery's result, its queue rank,
-- the mean recent run time of its kind and type, and the workers' total slots.
-- KEYS: job record, Celery result, queued set, mean-duration hash, workers hash,
--       in-flight set, ready clients, client weights (fair sharing, see fair_rank)
-- ARGV: job id, backlog key prefix.  Returns false when there is no record.
local job = redis.call('HGETALL', KEYS[1])
if #job == 0 then return false end
local kind, type, owner = '', '', ''
for i = 1, #job, 2 do
  local f = job[i]
  if f == 'kind' then kind = job[i + 1] elseif f == 'type' then type = job[i + 1]
  elseif f == 'owner' then owner = job[i + 1] end
end
local mean = redis.call('HGET', KEYS[4], kind .. ':' .. type)
local slots = worker_slots(KEYS[5])
local rank = redis.call('ZRANK', KEYS[3], ARGV[1])
if rank then  -- queued: its place in the fair start order, if it waits in a backlog
  local fair = fair_rank(KEYS[6], KEYS[7], KEYS[8], ARGV[2], owner, ARGV[1])
  if fair then rank = fair end
end
return {job, redis.call('GET', KEYS[2]), rank, mean, slots}
