-- fair_hand_over(K, A): the hand-over, in the script of whoever frees or fills an
-- in-flight place: fair_take (a heartbeat, a republish), fair_submit (a submit, which
-- it confirms) and claim (a slot's job started). Needs fair_rank before it.
-- Confirms a just-submitted job (optional), republishes in-flight jobs whose publish was
-- never confirmed, then moves jobs from the backlogs to the in-flight set, clients in
-- weighted round robin, until the workers' slots plus a margin are in flight. A job
-- whose broker message was rendered at submit (a Redis broker: jobs/broker_messages.py)
-- is pushed to the broker's queue here, confirmed at once; the caller publishes each
-- job returned, then confirms with fair_mark.
-- K: ready clients, clock, in-flight, published, weights, workers hash,
--    job record (to confirm), its tombstone, mean-duration hash, passes,
--    broker queue list ('': publish every job through the caller)
-- A: backlog prefix, job prefix, now, margin, stale seconds, lost seconds,
--    id to confirm (or ''), retention, tombstone seconds, its owner, its label,
--    message key prefix
-- Returns {rank of the confirmed job (-1: none), its kind's mean run time (or ''),
--          worker slots, then id, kind, type, parameters of each job to publish};
-- {-2, '', 0} when the job to confirm is no longer pending (its record expired).
local HAND_OVER_KEYS, HAND_OVER_ARGS = 11, 12
local function fair_hand_over(K, A)
  local bp, jp, now = A[1], A[2], tonumber(A[3])
  local queue, mp = K[11] or '', A[12] or ''
  local out = {}
  local function send(id, f)
    local m = queue ~= '' and mp ~= '' and redis.call('GET', mp .. id)
    if m then
      redis.call('LPUSH', queue, m)
      redis.call('SADD', K[4], id)
      redis.call('DEL', mp .. id)
    else
      table.insert(out, id); table.insert(out, f[1]); table.insert(out, f[2]); table.insert(out, f[3])
    end
  end
  local function drop(id)  -- finished or cancelled before it was handed over
    if mp ~= '' then redis.call('DEL', mp .. id) end
  end
  -- in-flight scores: the hand-over time, apart by 10 us in the order of publishing
  local stamp = now
  local function next_stamp() stamp = stamp + 0.00001; return stamp end
  local function valid(id)
    local f = redis.call('HMGET', jp .. id, 'kind', 'type', 'parameters', 'finishedAt', 'cancel', 'pending')
    if f[1] and not f[4] and f[5] ~= '1' then return f end
    return nil
  end
  local commit = A[7]
  if commit ~= '' then
    if redis.call('HDEL', K[7], 'pending') == 0 then return {-2, '', 0} end
    redis.call('EXPIRE', K[7], A[8])
    redis.call('SET', K[8], A[10], 'EX', A[9])
  end
  -- a hand-over whose process died before it confirmed the publish
  local old = redis.call('ZRANGEBYSCORE', K[3], '-inf', now - tonumber(A[5]), 'WITHSCORES')
  for i = 1, #old, 2 do
    local id = old[i]
    if redis.call('SISMEMBER', K[4], id) == 1 then
      -- published long ago and never started: the broker lost it (the deadline fails it)
      if tonumber(old[i + 1]) < now - tonumber(A[6]) then
        redis.call('ZREM', K[3], id)
        redis.call('SREM', K[4], id)
      end
    else
      local f = valid(id)
      if f then
        redis.call('ZADD', K[3], next_stamp(), id)
        send(id, f)
      else
        redis.call('ZREM', K[3], id)
        drop(id)
      end
    end
  end
  local slots = worker_slots(K[6])
  local limit = math.max(slots, 1) + tonumber(A[4])
  local n = redis.call('ZCARD', K[3])
  local skipped, nskip, guard = {}, 0, 0
  while n < limit and guard < 10000 do
    guard = guard + 1
    local heads = redis.call('ZRANGE', K[1], 0, nskip, 'WITHSCORES')
    local client, pass = nil, 0
    for i = 1, #heads, 2 do
      if not skipped[heads[i]] then client = heads[i]; pass = tonumber(heads[i + 1]); break end
    end
    if not client then break end
    local key = bp .. client
    local popped = redis.call('ZPOPMIN', key)
    if #popped == 0 then
      redis.call('ZREM', K[1], client)
    else
      local id = popped[1]
      local f = valid(id)
      if f and f[6] then  -- its submit is not confirmed yet: it stays first, the client waits
        redis.call('ZADD', key, popped[2], id)
        skipped[client] = true
        nskip = nskip + 1
      elseif f then
        local w = tonumber(redis.call('HGET', K[5], client) or '1')
        if redis.call('ZCARD', key) == 0 then
          redis.call('ZREM', K[1], client)
          redis.call('HSET', K[10], client, tostring(pass + 1 / w))
        else
          redis.call('ZADD', K[1], pass + 1 / w, client)
        end
        redis.call('SET', K[2], tostring(pass))
        redis.call('ZADD', K[3], next_stamp(), id)
        n = n + 1
        send(id, f)
      else  -- finished or cancelled meanwhile: dropped
        drop(id)
        if redis.call('ZCARD', key) == 0 then redis.call('ZREM', K[1], client) end
      end
    end
  end
  local rank, mean = -1, ''
  if commit ~= '' then
    rank = fair_rank(K[3], K[1], K[5], bp, A[10], commit) or -1
    mean = redis.call('HGET', K[9], A[11]) or ''
  end
  local reply = {rank, mean, slots}
  for _, v in ipairs(out) do table.insert(reply, v) end
  return reply
end
-- The hand-over with its keys and arguments at KEYS[k0 + 1 ...] and ARGV[a0 + 1 ...].
local function fair_hand_over_from(k0, a0)
  local K, A = {}, {}
  for i = 1, HAND_OVER_KEYS do K[i] = KEYS[k0 + i] end
  for i = 1, HAND_OVER_ARGS do A[i] = ARGV[a0 + i] end
  return fair_hand_over(K, A)
end
