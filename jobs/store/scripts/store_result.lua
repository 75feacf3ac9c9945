-- Celery's store_result in one round trip (store_unless_succeeded, celery_meta.lua, which
-- must come before it).
-- KEYS: the task's result key.  ARGV: encoded meta, expiry in seconds (0: none)
return store_unless_succeeded(KEYS[1], ARGV[1], ARGV[2])
