-- Kairos's own test module for nk's node-wide and utility functions, in
-- Nakama's style: the local cache, signatures and JWTs, random bytes,
-- the configuration and context, custom metrics, files under the
-- runtime path, and the shutdown hook.
local nk = require("nakama")

-- The local cache, driven by the payload: {op = "put" | "get" | "delete"
-- | "clear" | "fill", ...}.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  if p.op == "put" then
    nk.localcache_put(p.key, p.value, p.ttl)
    return nk.json_encode({ ok = true })
  elseif p.op == "get" then
    local v = nk.localcache_get(p.key, p.default)
    return nk.json_encode({ value = v, type = type(v) })
  elseif p.op == "get_table" then
    -- A table comes back as a copy: changing it leaves the cache as is.
    local v = nk.localcache_get(p.key)
    v.changed = true
    local again = nk.localcache_get(p.key)
    return nk.json_encode({ value = again, changed_is_nil = again.changed == nil })
  elseif p.op == "delete" then
    nk.localcache_delete(p.key)
    return nk.json_encode({ ok = true })
  elseif p.op == "clear" then
    nk.localcache_clear()
    return nk.json_encode({ ok = true })
  elseif p.op == "fill" then
    for i = 1, p.n do
      nk.localcache_put(p.prefix .. i, i)
    end
    return nk.json_encode({ ok = true })
  end
  error("unknown op")
end, "util.cache")

-- Each bad call's error message, by name.
nk.register_rpc(function(context, payload)
  local calls = {
    cache_get_empty = function() nk.localcache_get("") end,
    cache_put_ttl = function() nk.localcache_put("k", 1, -1) end,
    cache_put_function = function() nk.localcache_put("k", function() end) end,
    cache_put_large = function() nk.localcache_put("k", string.rep("x", 70000)) end,
    cache_delete_empty = function() nk.localcache_delete("") end,
    random_zero = function() nk.secure_random_bytes(0) end,
    random_many = function() nk.secure_random_bytes(1001) end,
    jwt_algo = function() nk.jwt_generate("ES256", "k", {}) end,
    jwt_algo_empty = function() nk.jwt_generate("", "k", {}) end,
    jwt_key = function() nk.jwt_generate("HS256", "", {}) end,
    jwt_claims = function() nk.jwt_generate("HS256", "k", "claims") end,
    jwt_rs_key = function() nk.jwt_generate("RS256", "not a key", { a = 1 }) end,
    rsa_input = function() nk.rsa_sha256_hash("", "k") end,
    rsa_key = function() nk.rsa_sha256_hash("x", "") end,
    rsa_pem = function() nk.rsa_sha256_hash("x", "not a key") end,
    file_escape = function() nk.file_read("../Cargo.toml") end,
    file_empty = function() nk.file_read("") end,
    file_missing = function() nk.file_read("data/missing.txt") end,
    metric_tag = function() nk.metrics_counter_add("m", { a = 1 }, 1) end,
    metric_tag_key = function() nk.metrics_gauge_set("m", { "x" }, 1) end,
    metric_delta = function() nk.metrics_counter_add("m", nil, -1) end,
    metric_name = function() nk.metrics_timer_record("", nil, 1) end,
    shutdown_fn = function() nk.register_shutdown("x") end,
  }
  local out = {}
  for name, f in pairs(calls) do
    local ok, err = pcall(f)
    out[name] = ok and "no error" or err
  end
  return nk.json_encode(out)
end, "util.errors")

-- Signatures, JWTs and random bytes of the payload, with the test keys
-- read from data/ under the runtime path.
nk.register_rpc(function(context, payload)
  local pkcs1 = nk.file_read("data/rsa_pkcs1.pem")
  local pkcs8 = nk.file_read("data/rsa_pkcs8.pem")
  local claims = { sub = payload, exp = 1700000000, roles = { "a", "b" } }
  local r1, r2 = nk.secure_random_bytes(32), nk.secure_random_bytes(32)
  return nk.json_encode({
    rsa = nk.base64_encode(nk.rsa_sha256_hash(payload, pkcs1)),
    hs256 = nk.jwt_generate("HS256", "lua-secret", claims),
    rs256 = nk.jwt_generate("RS256", pkcs8, claims),
    random_len = #r1,
    random_differs = r1 ~= r2,
  })
end, "util.crypto")

nk.register_rpc(function(context, payload)
  return nk.json_encode({ config = nk.get_config(), context = nk.get_context() })
end, "util.config")

nk.register_rpc(function(context, payload)
  return nk.file_read(payload)
end, "util.file")

-- Custom metrics: a counter, a gauge and a timer with tags, then `extra`
-- more series than the test server allows.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.metrics_counter_add("util_hits", { kind = "a", le = "x" }, 2)
  nk.metrics_counter_add("util_hits", { le = "x", kind = "a" }, 1)
  nk.metrics_gauge_set("util.level", nil, 2.5)
  nk.metrics_timer_record("util_wait", { op = "w" }, 1500000000)
  for i = 1, p.extra do
    nk.metrics_counter_add("util_many", { i = tostring(i) }, 1)
  end
  return "{}"
end, "util.metrics")

-- The shutdown hook: when a test put a key in the local cache, stores
-- what the hook got under it (a system object).
nk.register_shutdown(function(context, grace_seconds)
  local key = nk.localcache_get("shutdown_key")
  if key == nil then
    return
  end
  nk.storage_write({
    { collection = "lua_util_shutdown", key = key, user_id = nil,
      value = { mode = context.execution_mode, grace = grace_seconds, node = context.node },
      permission_read = 2, permission_write = 0 },
  })
end)

nk.register_rpc(function(context, payload)
  local objects = nk.storage_read({ { collection = "lua_util_shutdown", key = payload, user_id = nil } })
  if #objects == 0 then
    return "{}"
  end
  return nk.json_encode(objects[1].value)
end, "util.shutdown_read")
