-- Per-client queued (backlog plus in flight) and running jobs; drops finished or
-- vanished jobs from the running set on the way.
-- KEYS: ready clients, in-flight, running.  ARGV: backlog key prefix, job key prefix.
-- Returns {client, queued, running, ...}.
local queued, running, names = {}, {}, {}
local function note(c) if not queued[c] then queued[c] = 0; running[c] = 0; table.insert(names, c) end end
for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  note(c)
  queued[c] = queued[c] + redis.call('ZCARD', ARGV[1] .. c)
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local c = redis.call('HGET', ARGV[2] .. id, 'owner')
  if c then note(c); queued[c] = queued[c] + 1 end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local f = redis.call('HMGET', ARGV[2] .. id, 'owner', 'finishedAt')
  if not f[1] or f[2] then redis.call('SREM', KEYS[3], id)
  else note(f[1]); running[f[1]] = running[f[1]] + 1 end
end
local out = {}
for _, c in ipairs(names) do
  table.insert(out, c); table.insert(out, queued[c]); table.insert(out, running[c])
end
return out
