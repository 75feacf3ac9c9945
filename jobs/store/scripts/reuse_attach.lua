-- Settle a just-created (provisional) job of a deterministic kind by reuse, atomically:
--   'hit'    a result for its digest is kept: the job is Complete now, with its own copy;
--   'follow' a live job is computing that digest: the job waits for it (not enqueued);
--   'lead'   neither: the job will compute it (the caller enqueues it as usual).
-- KEYS: job record, kept result, leader marker, queued set, job's Celery meta, tombstone
-- ARGV: job id, digest, now, retention, tombstone seconds, fresh ('1': no-cache),
--       job key prefix, followers key prefix, owner, leader marker seconds
local id, now = ARGV[1], ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local function settle()
  redis.call('HDEL', KEYS[1], 'pending')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[6], ARGV[9], 'EX', ARGV[5])
  redis.call('ZREM', KEYS[4], id)
end
if ARGV[6] ~= '1' then
  local kept = redis.call('HMGET', KEYS[2], 'meta', 'computedAt', 'progress', 'source')
  if kept[1] then
    settle()
    redis.call('HSET', KEYS[1], 'cached', '1', 'computedAt', kept[2], 'startedAt', now,
      'finishedAt', now, 'progress', kept[3])
    redis.call('SET', KEYS[5], kept[1], 'EX', ARGV[4])
    return {'hit', kept[4]}
  end
  local leader = redis.call('GET', KEYS[3])
  if leader and leader ~= id then
    local lkey = ARGV[7] .. leader
    local l = redis.call('HMGET', lkey, 'finishedAt', 'cancel', 'deadline')
    -- a leader past its run deadline is lost (its worker vanished): compute anew
    local alive = redis.call('EXISTS', lkey) == 1 and not l[1] and l[2] ~= '1'
      and (not l[3] or tonumber(l[3]) > tonumber(now))
    if alive then
      settle()
      redis.call('HSET', KEYS[1], 'cached', '1', 'follows', leader)
      local fkey = ARGV[8] .. leader
      redis.call('SADD', fkey, id)
      redis.call('EXPIRE', fkey, ARGV[4])
      return {'follow', leader}
    end
  end
end
redis.call('HSET', KEYS[1], 'reuse', ARGV[2])
redis.call('SET', KEYS[3], id, 'EX', ARGV[10])
return {'lead', ''}
