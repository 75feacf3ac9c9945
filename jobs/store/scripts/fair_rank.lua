-- Shared functions of the fair-sharing scripts, prepended to read.lua, fair_rank_of.lua,
-- fair_take.lua, fair_submit.lua and claim.lua (one definition).
-- worker_slots(): the pool slots of the registered workers (the workers hash; a value
-- that is not a count is skipped).
local function worker_slots(workers)
  local slots = 0
  for _, v in ipairs(redis.call('HVALS', workers)) do
    if string.match(v, '^%d+$') then slots = slots + tonumber(v) end
  end
  return slots
end
-- fair_rank(): how many jobs start before a queued job under fair sharing, or false when
-- the job is in no backlog.
-- A job handed over waits behind the in-flight jobs handed over before it. A job in its
-- client's backlog at index k starts at pass p + k/w (its client's next pass p, weight w);
-- every other ready client d starts each of its jobs whose pass is below that first
-- (at an equal pass, the client whose name sorts first: ZRANGE's order).
local function fair_rank(inflight, ready, weights, backlog_prefix, owner, id)
  local r = redis.call('ZRANK', inflight, id)
  if r then return r end
  if not owner or owner == '' then return false end
  local k = redis.call('ZRANK', backlog_prefix .. owner, id)
  if not k then return false end
  local own = redis.call('ZSCORE', ready, owner)
  if not own then return false end
  local at = tonumber(own) + k / tonumber(redis.call('HGET', weights, owner) or '1')
  local rank = redis.call('ZCARD', inflight) + k
  local clients = redis.call('ZRANGE', ready, 0, -1, 'WITHSCORES')
  for i = 1, #clients, 2 do
    local d = clients[i]
    if d ~= owner then
      local gap = (at - tonumber(clients[i + 1])) * tonumber(redis.call('HGET', weights, d) or '1')
      local ahead
      if d < owner then ahead = math.floor(gap + 1e-9) + 1 else ahead = math.ceil(gap - 1e-9) end
      if ahead > 0 then rank = rank + math.min(ahead, redis.call('ZCARD', backlog_prefix .. d)) end
    end
  end
  return rank
end
