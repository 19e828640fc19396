-- Kairos's own Lua test module, written in the style of Nakama's
-- modules: RPCs and hooks registered through the nakama module.
local nk = require("nakama")
local util = require("util")

-- A global set while the module loads: readable later, not writable.
counter_name = "calls"

local function echo(context, payload)
  return payload
end
nk.register_rpc(echo, "lua.echo")

local function whoami(context, payload)
  return nk.json_encode({
    user_id = context.user_id or "",
    username = context.username or "",
    mode = context.execution_mode,
    greeting = util.greet("lua"),
  })
end
nk.register_rpc(whoami, "lua.whoami")

nk.register_rpc(function(context, payload)
  error("this rpc fails")
end, "lua.error")

nk.register_rpc(function(context, payload)
  error({ "not allowed here", 7 })
end, "lua.custom_error")

nk.register_rpc(function(context, payload)
  local n = 0
  while true do
    n = n + 1
  end
end, "lua.loop")

nk.register_rpc(function(context, payload)
  local t = {}
  local i = 0
  while true do
    i = i + 1
    t[i] = string.rep("x", 1024) .. i
  end
end, "lua.hog")

nk.register_rpc(function(context, payload)
  counter_name = "changed"
  return "written"
end, "lua.write_global")

nk.register_rpc(function(context, payload)
  string.kairos = true
  return "written"
end, "lua.write_library")

nk.register_rpc(function(context, payload)
  return nk.json_encode({ name = counter_name, loaded = util.loaded_at_startup })
end, "lua.read_global")

-- Storage round trip for the caller: write, read, list, delete.
nk.register_rpc(function(context, payload)
  local input = nk.json_decode(payload)
  local uid = context.user_id
  local acks = nk.storage_write({
    { collection = "lua", key = input.key, user_id = uid, value = input.value,
      permission_read = 1, permission_write = 0 },
  })
  local objects = nk.storage_read({ { collection = "lua", key = input.key, user_id = uid } })
  local listed = nk.storage_list(uid, "lua", 10, "")
  local before = #objects
  nk.storage_delete({ { collection = "lua", key = input.key, user_id = uid } })
  local after = #nk.storage_read({ { collection = "lua", key = input.key, user_id = uid } })
  return nk.json_encode({
    version = acks[1].version,
    value = objects[1].value,
    read_before = before,
    listed = #listed,
    read_after = after,
  })
end, "lua.storage")

-- The pure functions of nk, computed on known inputs.
nk.register_rpc(function(context, payload)
  local id = nk.uuid_v4()
  local ok, err = pcall(nk.json_decode, "{not json")
  local bad_arg_ok, bad_arg = pcall(nk.base16_encode, "")
  return nk.json_encode({
    b64 = nk.base64_encode("hello"),
    b64_back = nk.base64_decode("aGVsbG8"),
    b64url = nk.base64url_encode("\255\254", false),
    b16 = nk.base16_encode("hi"),
    b16_back = nk.base16_decode("6869"),
    md5 = nk.md5_hash("hello"),
    sha256 = nk.sha256_hash("hello"),
    hmac = nk.base16_encode(nk.hmac_sha256_hash("hello", "key")),
    uuid_len = string.len(id),
    uuid_round = nk.uuid_bytes_to_string(nk.uuid_string_to_bytes(id)) == id,
    cron = nk.cron_next("0 0 * * *", 1704103200),
    time_positive = nk.time() > 0,
    json_error = (not ok) and err or "",
    bad_arg = (not bad_arg_ok) and bad_arg or "",
  })
end, "lua.codec")

-- The caller's account, through the server.
nk.register_rpc(function(context, payload)
  local account = nk.account_get_id(context.user_id)
  local users = nk.users_get_id({ context.user_id })
  local by_name = nk.users_get_username({ account.user.username })
  return nk.json_encode({
    username = account.user.username,
    users = #users,
    by_name = by_name[1].user_id == context.user_id,
  })
end, "lua.account")

nk.register_rpc(function(context, payload)
  nk.notification_send(context.user_id, "from lua", { n = 1 }, 101, "", true)
  local updated, previous = nk.wallet_update(context.user_id, { coins = 10 }, {}, false)
  return nk.json_encode({ coins = updated.coins })
end, "lua.notify_and_pay")

-- nk.multi_update: an account update, a storage write and delete and a
-- wallet change in one call; then a call whose delete version does not
-- match (refused whole), one with a bad user id, and an empty one.
nk.register_rpc(function(context, payload)
  local uid = context.user_id
  local function count(key)
    return #nk.storage_read({ { collection = "lua_multi", key = key, user_id = uid } })
  end
  nk.storage_write({ { collection = "lua_multi", key = "old", user_id = uid, value = { a = 1 } } })
  local acks, results = nk.multi_update(
    { { user_id = uid, display_name = "Lua Multi", metadata = { from = "lua" } } },
    { { collection = "lua_multi", key = "new", user_id = uid, value = { b = 2 } } },
    { { collection = "lua_multi", key = "old", user_id = uid } },
    { { user_id = uid, changeset = { gems = 3 }, metadata = { why = "multi" } } },
    true)
  local refused_ok, refused = pcall(nk.multi_update,
    { { user_id = uid, display_name = "Never" } },
    nil,
    { { collection = "lua_multi", key = "new", user_id = uid, version = "not-the-version" } },
    { { user_id = uid, changeset = { gems = 100 } } })
  local bad_ok, bad = pcall(nk.multi_update, { { user_id = "not-an-id" } })
  local none_acks, none_results = nk.multi_update()
  local account = nk.account_get_id(uid)
  return nk.json_encode({
    ack_key = acks[1].key,
    ack_user = acks[1].user_id,
    gems = results[1].updated.gems,
    refused = (not refused_ok) and refused or "",
    bad_id = (not bad_ok) and bad or "",
    empty = none_acks == nil and none_results == nil,
    display_name = account.user.display_name,
    metadata = account.user.metadata,
    wallet_gems = account.wallet.gems,
    new = count("new"),
    old = count("old"),
  })
end, "lua.multi")

-- A leaderboard made by Lua, written twice (incr), the caller's record
-- read back over REST by the test; then an unknown operator refused.
nk.register_rpc(function(context, payload)
  local id = nk.json_decode(payload).id
  nk.leaderboard_create(id, false, "descending", "increment", "", { season = 1 })
  nk.leaderboard_record_write(id, context.user_id, "", 5, 0, { via = "lua" })
  local record = nk.leaderboard_record_write(id, context.user_id, "", 7)
  local ok, err = pcall(nk.leaderboard_create, id .. "-bad", false, "desc", "sum")
  return nk.json_encode({ score = record.score, num_score = record.num_score, refused = err })
end, "lua.leaderboard")

-- A before hook that refuses one custom id and rewrites another.
nk.register_req_before(function(context, payload)
  if payload.id == "lua-refused" then
    error({ "custom ids starting with lua-refused are refused", 3 })
  end
  if payload.id == "lua-rewrite-me" then
    payload.id = "lua-rewritten-id"
  end
  return payload
end, "AuthenticateCustom")

-- Creates a Lua authoritative match of the arena module.
nk.register_rpc(function(context, payload)
  local id = nk.match_create("arena", { label = payload })
  return nk.json_encode({ match_id = id, signal = nk.match_signal(id, "ping") })
end, "lua.create_arena")

-- Runs once per node, with the server available: leaves a system-owned
-- object behind.
nk.run_once(function(context)
  nk.storage_write({
    { collection = "lua_once", key = "boot", value = { mode = context.execution_mode },
      permission_read = 2, permission_write = 0 },
  })
end)

nk.register_rpc(function(context, payload)
  local objects = nk.storage_read({ { collection = "lua_once", key = "boot" } })
  local listed = nk.storage_list("", "lua_once", 10, "")
  return nk.json_encode({ read = #objects, listed = #listed, mode = objects[1].value.mode })
end, "lua.once")
