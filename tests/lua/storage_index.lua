-- Storage indexes from Lua (tests/tests/lua_storage_index.rs). Every
-- index and collection name starts with P, which the test rewrites to a
-- prefix of its own, so servers sharing a database do not see each
-- other's objects.
local nk = require("nakama")
local P = "stidx_"

-- Scores: a plain index over some fields, "score" sortable.
nk.register_storage_index(P .. "scores", P .. "scores", "", { "score", "name", "run" }, { "score" }, 1000, false)
-- The same fields, answered from the index alone.
nk.register_storage_index(P .. "only", P .. "only", "", { "score", "run" }, { "score" }, 1000, true)
-- At most 10 entries (evicted past 11), one key only.
nk.register_storage_index(P .. "evict", P .. "evict", "slot", { "n" }, { "n" }, 10, false)
-- A filter: objects with hidden = true are kept out (and dropped).
nk.register_storage_index(P .. "filtered", P .. "filtered", "", { "score", "hidden" }, {}, 1000, false)
nk.register_storage_index_filter(P .. "filtered", function(context, write)
  assert(context.execution_mode == "storage_index_filter", context.execution_mode)
  assert(write.collection == P .. "filtered" and write.key ~= nil and write.version ~= nil)
  assert(write.permission_read ~= nil and write.permission_write ~= nil)
  return write.value.hidden ~= true
end)

local function call(payload)
  local a = nk.json_decode(payload)
  local order = a.order or {}
  local ok, objects, cursor = pcall(nk.storage_index_list, P .. a.index, a.query, a.limit, order, a.caller, a.cursor)
  if not ok then
    return nk.json_encode({ error = objects })
  end
  local out = {}
  for i, o in ipairs(objects) do
    out[i] = o
  end
  return nk.json_encode({ objects = out, n = #out, cursor = cursor })
end

-- {index, query, limit, order, caller, cursor} -> {objects, n, cursor} or {error}
nk.register_rpc(function(context, payload)
  return call(payload)
end, "stidx.list")

-- {writes = {{collection, key, user_id, value, permission_read}}}: collections without P.
nk.register_rpc(function(context, payload)
  local a = nk.json_decode(payload)
  for _, w in ipairs(a.writes) do
    w.collection = P .. w.collection
  end
  nk.storage_write(a.writes)
  return "{}"
end, "stidx.write")

-- {deletes = {{collection, key, user_id}}}
nk.register_rpc(function(context, payload)
  local a = nk.json_decode(payload)
  for _, d in ipairs(a.deletes) do
    d.collection = P .. d.collection
  end
  nk.storage_delete(a.deletes)
  return "{}"
end, "stidx.delete")

-- {writes, deletes} through multi_update
nk.register_rpc(function(context, payload)
  local a = nk.json_decode(payload)
  for _, w in ipairs(a.writes or {}) do
    w.collection = P .. w.collection
  end
  for _, d in ipairs(a.deletes or {}) do
    d.collection = P .. d.collection
  end
  nk.multi_update({}, a.writes or {}, a.deletes or {}, {}, false)
  return "{}"
end, "stidx.multi")

-- Nakama's argument errors, each as its message.
nk.register_rpc(function(context, payload)
  local out = {}
  local function try(name, f, ...)
    local ok, err = pcall(f, ...)
    out[name] = ok and "no error" or err
  end
  local list = nk.storage_index_list
  local reg = nk.register_storage_index
  try("limit_low", list, P .. "scores", "*", 0, {})
  try("limit_high", list, P .. "scores", "*", 10001, {})
  try("order_missing", list, P .. "scores", "*", 10)
  try("order_not_string", list, P .. "scores", "*", 10, { 1 })
  try("caller_bad", list, P .. "scores", "*", 10, {}, "not-a-uuid")
  try("unknown_index", list, P .. "nope", "*", 10, {})
  try("bad_cursor", list, P .. "scores", "*", 10, {}, nil, "!!!")
  try("bad_query", list, P .. "scores", "+value.score:>", 10, {})
  try("index_missing", list)
  try("reg_name", reg, "", "c", "", { "a" }, {}, 10, false)
  try("reg_collection", reg, "x", "", "", { "a" }, {}, 10, false)
  try("reg_max", reg, "x", "c", "", { "a" }, {}, 0, false)
  try("reg_fields", reg, "x", "c", "", {}, {}, 10, false)
  try("reg_field_type", reg, "x", "c", "", { 1 }, {}, 10, false)
  try("reg_sortable_type", reg, "x", "c", "", { "a" }, { true }, 10, false)
  try("reg_sortable_missing", reg, "x", "c", "", { "a" })
  try("reg_too_many", reg, "x", "c", "", { "a" }, {}, 100001, false)
  try("reg_duplicate", reg, P .. "scores", "c", "", { "a" }, {}, 10, false)
  try("filter_fn", nk.register_storage_index_filter, "x", "not a function")
  return nk.json_encode(out)
end, "stidx.errors")
