-- Admit a job under the client's quotas, put it in the client's backlog and hand over
-- (confirming it), in one round trip. Modes: 'submit' (check, write the provisional
-- record and its indexes, queue, hand over), 'admit' (check and count only: the record
-- is written by reuse first), 'enqueue' (queue a record already written and admitted,
-- hand over). Needs fair_rank and fair_handover before it.
-- KEYS: job record, queued set, owner index, backlog, ready clients, clock, seq,
--       weights, unfinished set, submits set, mean-duration hash, passes, then (not
--       for 'admit') the hand-over's 11 keys (fair_handover.lua)
-- ARGV: job id, owner, weight, priority band, now, provisional seconds, max unfinished,
--       submits per minute, mode, job key prefix, label, then the hand-over's 12
--       arguments (empty for 'admit'), the job's broker message (or ''), then record
--       field/value pairs ('submit')
-- Returns {'ok'} ('admit'), {'ok', then the hand-over's reply} or
-- {'unfinished'|'rate', retry-after seconds, limit}.
local id, owner, now, mode = ARGV[1], ARGV[2], tonumber(ARGV[5]), ARGV[9]
local max_unfinished, per_minute = tonumber(ARGV[7]), tonumber(ARGV[8])
if mode ~= 'enqueue' then
  if max_unfinished > 0 and redis.call('SCARD', KEYS[9]) >= max_unfinished then
    -- the set holds candidates; the records say which are still unfinished
    for _, other in ipairs(redis.call('SMEMBERS', KEYS[9])) do
      local f = redis.call('HMGET', ARGV[10] .. other, 'createdAt', 'finishedAt')
      if not f[1] or f[2] then redis.call('SREM', KEYS[9], other) end
    end
    if redis.call('SCARD', KEYS[9]) >= max_unfinished then
      local mean = tonumber(redis.call('HGET', KEYS[11], ARGV[11]) or '1')
      return {'unfinished', math.max(1, math.ceil(mean)), max_unfinished}
    end
  end
  if per_minute > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now - 60)
    if redis.call('ZCARD', KEYS[10]) >= per_minute then
      local oldest = redis.call('ZRANGE', KEYS[10], 0, 0, 'WITHSCORES')
      return {'rate', math.max(1, math.ceil(tonumber(oldest[2]) + 60 - now)), per_minute}
    end
    redis.call('ZADD', KEYS[10], now, id)
    redis.call('EXPIRE', KEYS[10], 61)
  end
  if max_unfinished > 0 then
    redis.call('SADD', KEYS[9], id)
    redis.call('EXPIRE', KEYS[9], 86400)
  end
  if mode == 'admit' then return {'ok'} end
end
if mode == 'submit' then
  redis.call('HSET', KEYS[1], 'pending', '1', unpack(ARGV, 25))
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('ZADD', KEYS[3], now, id)
end
local seq = redis.call('INCR', KEYS[7])
redis.call('ZADD', KEYS[4], tonumber(ARGV[4]) * 1099511627776 + seq, id)
redis.call('HSET', KEYS[8], owner, ARGV[3])
if not redis.call('ZSCORE', KEYS[5], owner) then
  -- a client joins at the clock, or where it left off if that is later
  local clock = tonumber(redis.call('GET', KEYS[6]) or '0')
  local left = tonumber(redis.call('HGET', KEYS[12], owner) or '0')
  redis.call('ZADD', KEYS[5], math.max(clock, left), owner)
end
if ARGV[24] ~= '' and ARGV[23] ~= '' then  -- pushed to the broker by the hand-over
  redis.call('SET', ARGV[23] .. id, ARGV[24], 'EX', ARGV[19])
end
local reply = fair_hand_over_from(12, 11)
table.insert(reply, 1, 'ok')
return reply
