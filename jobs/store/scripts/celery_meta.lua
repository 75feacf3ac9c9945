-- Shared by store_result.lua (the workers' result backend) and claim.lua (which stores a
-- run's STARTED in its own round trip): Celery's store_result in Lua.
-- store_unless_succeeded(key, value, expiry): store a task's encoded meta (SETEX, or SET
-- when the expiry is 0, then PUBLISH on the key, as Celery's Redis backend does) unless
-- a SUCCESS is stored already, which a lost or redelivered run must not overwrite (what
-- Celery checks with a GET first). 1 when stored, 0 when refused.
local function store_unless_succeeded(key, value, expiry)
  local current = redis.call('GET', key)
  if current then
    local ok, meta = pcall(cjson.decode, current)
    if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then return 0 end
  end
  if tonumber(expiry) > 0 then
    redis.call('SETEX', key, expiry, value)
  else
    redis.call('SET', key, value)
  end
  redis.call('PUBLISH', key, value)
  return 1
end
