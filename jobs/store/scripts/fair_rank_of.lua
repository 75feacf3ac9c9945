-- fair_rank() of several jobs (after the prelude fair_rank.lua), for listings: -1 for a
-- job that waits in no backlog.  KEYS: in-flight, ready clients, weights.
-- ARGV: backlog key prefix, job key prefix, then job ids.
local out = {}
for i = 3, #ARGV do
  local owner = redis.call('HGET', ARGV[2] .. ARGV[i], 'owner')
  table.insert(out, fair_rank(KEYS[1], KEYS[2], KEYS[3], ARGV[1], owner, ARGV[i]) or -1)
end
return out
