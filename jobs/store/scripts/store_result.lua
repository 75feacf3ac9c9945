-- Celery's store_result in one round trip: store a task's state (SETEX/SET and PUBLISH,
-- as Celery's Redis backend does) unless a SUCCESS is stored already, which a lost or
-- redelivered run must not overwrite (what Celery checks with a GET first).
-- KEYS: the task's result key.  ARGV: encoded meta, expiry in seconds (0: none)
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then return 0 end
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
