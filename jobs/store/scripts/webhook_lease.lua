-- Hand out the deliveries that are due: each is re-scheduled at the lease's end (so one
-- whose worker dies is handed out again) and gets a new lease token.
-- KEYS: due set.  ARGV: now, lease end, limit, delivery key prefix.
-- Returns id, token, id, token ...
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  if redis.call('HGET', key, 'status') ~= 'pending' then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, id)
    table.insert(out, tostring(redis.call('HINCRBY', key, 'lease', 1)))
  end
end
return out
