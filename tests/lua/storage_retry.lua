-- nk.storage_write_retry: the payload is {key, retries, meddle}. The
-- update function adds 1 to the object's `n`; with `meddle`, its first
-- call writes the object itself (adding 100), so the write it returns
-- carries a version that no longer holds and must be retried. Answers
-- {calls, acks, n} or {error}.
local nk = require("nakama")

nk.register_rpc(function(context, payload)
  local a = nk.json_decode(payload)
  local id = { collection = "lua_retry", key = a.key }
  local calls = 0
  local ok, acks = pcall(nk.storage_write_retry, { id }, function(objects)
    calls = calls + 1
    local n, version = 0, "*"
    if #objects > 0 then
      n, version = objects[1].value.n, objects[1].version
    end
    if a.meddle and calls == 1 then
      nk.storage_write({ { collection = "lua_retry", key = a.key, value = { n = n + 100 } } })
    end
    return { { collection = "lua_retry", key = a.key, value = { n = n + 1 }, version = version } }
  end, a.retries)
  if not ok then
    return nk.json_encode({ error = acks, calls = calls })
  end
  local found = nk.storage_read({ id })
  return nk.json_encode({ calls = calls, acks = #acks, n = found[1].value.n })
end, "lua.retry_add")
