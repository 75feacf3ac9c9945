-- Delete a key only while it still holds the value we wrote (release our own claim).
-- KEYS: the key.  ARGV: the value.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
