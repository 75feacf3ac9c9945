-- One wrk script for every scenario; the request shape comes from the environment:
--   WRK_METHOD (GET), WRK_BODY (a JSON body, sent as application/json),
--   WRK_IF_NONE_MATCH (an ETag, for conditional polls).
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local etag = os.getenv("WRK_IF_NONE_MATCH")
if etag ~= nil and etag ~= "" then
  wrk.headers["If-None-Match"] = etag
end
