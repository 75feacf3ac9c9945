-- Shared by webhook_emit.lua and webhook_record.lua: a job's deliveries go out in the
-- order of its events. A delivery recorded while an earlier one of its job is still
-- pending waits in the due set at +inf (never due; counted as pending); the end of the
-- earlier one releases it.

-- The first pending delivery in a job's list (ids in event order), or nil.
local function first_pending(list_key, delivery_prefix)
  for _, id in ipairs(redis.call('LRANGE', list_key, 0, -1)) do
    if redis.call('HGET', delivery_prefix .. id, 'status') == 'pending' then return id end
  end
  return nil
end
