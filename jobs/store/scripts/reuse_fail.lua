-- A leader job failed: its live followers fail with the same error (the same computation
-- on the same data), and the digest has no leader any more.
-- KEYS: job record
-- ARGV: job id, error (JSON), now, leader prefix, followers prefix, job prefix, events prefix
local digest = redis.call('HGET', KEYS[1], 'reuse')
if not digest then return -1 end
local leader = ARGV[4] .. digest
if redis.call('GET', leader) == ARGV[1] then redis.call('DEL', leader) end
local followers = ARGV[5] .. ARGV[1]
local done = 0
for _, f in ipairs(redis.call('SMEMBERS', followers)) do
  local rec = ARGV[6] .. f
  local s = redis.call('HMGET', rec, 'finishedAt', 'cancel')
  if redis.call('EXISTS', rec) == 1 and not s[1] and s[2] ~= '1' then
    redis.call('HSET', rec, 'finishedAt', ARGV[3], 'error', ARGV[2])
    redis.call('PUBLISH', ARGV[7] .. f, 'changed')
    done = done + 1
  end
end
redis.call('DEL', followers)
return done
