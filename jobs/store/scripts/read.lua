-- A job's whole state in one round trip: its record, Celery's result, its queue rank,
-- the mean recent run time of its kind and type, and the workers' total slots.
-- KEYS: job record, Celery result, queued set, mean-duration hash, workers hash
-- ARGV: job id.  Returns false when there is no record.
local job = redis.call('HGETALL', KEYS[1])
if #job == 0 then return false end
local kind, type = '', ''
for i = 1, #job, 2 do
  if job[i] == 'kind' then kind = job[i + 1] elseif job[i] == 'type' then type = job[i + 1] end
end
local mean = redis.call('HGET', KEYS[4], kind .. ':' .. type)
local slots = 0
for _, v in ipairs(redis.call('HVALS', KEYS[5])) do
  if string.match(v, '^%d+$') then slots = slots + tonumber(v) end
end
return {job, redis.call('GET', KEYS[2]), redis.call('ZRANK', KEYS[3], ARGV[1]), mean, slots}
