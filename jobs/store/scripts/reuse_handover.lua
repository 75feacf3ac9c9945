-- A leader job is cancelled by its owner (or lost): the oldest live follower becomes the
-- leader (it computes, and the caller enqueues it); the other followers follow it.
-- KEYS: old leader's record, queued set
-- ARGV: old leader id, leader prefix, followers prefix, job prefix, events prefix,
--       leader marker seconds
-- Returns the new leader's id, or false when no follower waits.
local digest = redis.call('HGET', KEYS[1], 'reuse')
local followers = ARGV[3] .. ARGV[1]
local live = {}
for _, f in ipairs(redis.call('SMEMBERS', followers)) do
  local s = redis.call('HMGET', ARGV[4] .. f, 'finishedAt', 'cancel', 'createdAt')
  if s[3] and not s[1] and s[2] ~= '1' then table.insert(live, {f, tonumber(s[3])}) end
end
redis.call('DEL', followers)
local leader = digest and (ARGV[2] .. digest)
if #live == 0 then
  if leader and redis.call('GET', leader) == ARGV[1] then redis.call('DEL', leader) end
  return false
end
table.sort(live, function(a, b) return a[2] < b[2] end)
local new = live[1][1]
local rec = ARGV[4] .. new
redis.call('HDEL', rec, 'follows', 'cached')
if digest then redis.call('HSET', rec, 'reuse', digest) end
redis.call('ZADD', KEYS[2], live[1][2], new)
if leader and redis.call('GET', leader) == ARGV[1] then
  redis.call('SET', leader, new, 'EX', ARGV[6])
end
local next_followers = ARGV[3] .. new
for i = 2, #live do
  redis.call('HSET', ARGV[4] .. live[i][1], 'follows', new)
  redis.call('SADD', next_followers, live[i][1])
end
local ttl = redis.call('TTL', rec)
if #live > 1 and ttl > 0 then redis.call('EXPIRE', next_followers, ttl) end
redis.call('PUBLISH', ARGV[5] .. new, 'changed')
return new
