-- Confirm the publish of handed-over jobs still in flight (a fast worker may have
-- claimed one already: it must not stay marked).
-- KEYS: in-flight, published.  ARGV: job ids.
for _, id in ipairs(ARGV) do
  if redis.call('ZSCORE', KEYS[1], id) then redis.call('SADD', KEYS[2], id) end
end
return 1
