-- A leader job computed its result: keep it for reuse and complete its live followers,
-- each with its own copy of the result (expiring with the follower's record).
-- KEYS: job record
-- ARGV: job id, Celery meta (JSON), now, progress (JSON), keep seconds (0: keep none),
--       kept-result prefix, leader prefix, followers prefix, job prefix, meta prefix,
--       events prefix
local digest = redis.call('HGET', KEYS[1], 'reuse')
if not digest then return -1 end
if tonumber(ARGV[5]) > 0 then
  local kept = ARGV[6] .. digest
  redis.call('DEL', kept)
  redis.call('HSET', kept, 'meta', ARGV[2], 'computedAt', ARGV[3], 'progress', ARGV[4],
    'source', ARGV[1])
  redis.call('EXPIRE', kept, ARGV[5])
end
local leader = ARGV[7] .. digest
if redis.call('GET', leader) == ARGV[1] then redis.call('DEL', leader) end
local followers = ARGV[8] .. ARGV[1]
local done = 0
for _, f in ipairs(redis.call('SMEMBERS', followers)) do
  local rec = ARGV[9] .. f
  local s = redis.call('HMGET', rec, 'finishedAt', 'cancel')
  local ttl = redis.call('PTTL', rec)
  if ttl > 0 and not s[1] and s[2] ~= '1' then
    redis.call('SET', ARGV[10] .. f, ARGV[2], 'PX', ttl)
    redis.call('HSET', rec, 'startedAt', ARGV[3], 'finishedAt', ARGV[3], 'computedAt', ARGV[3],
      'progress', ARGV[4])
    redis.call('PUBLISH', ARGV[11] .. f, 'changed')
    done = done + 1
  end
end
redis.call('DEL', followers)
return done
