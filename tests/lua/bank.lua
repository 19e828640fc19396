-- An authoritative match whose callbacks wait on the server, as Nakama's
-- match modules do: match_init reads its opening balance from storage
-- (written by the creating RPC), a join attempt reads storage to decide, each message
-- "bank:N" credits its sender's wallet and broadcasts the wallet after
-- the update, a leave writes a storage object, and a signal reads one.
-- Every callback waits on the server at least once, and counts the times
-- it found another callback of the match still running (each match has
-- its own Lua state, so these locals are the match's): the server must
-- run one callback at a time.
local nk = require("nakama")

local M = {}

local inside, overlaps, joins, leaves = false, 0, 0, 0

local function enter()
  if inside then
    overlaps = overlaps + 1
  end
  inside = true
end

local function leave()
  inside = false
end

-- A wait on the server that reads nothing of use.
local function pause(context)
  nk.storage_read({ { collection = "lua_bank_none", key = context.match_id } })
end

function M.match_init(context, params)
  local found = nk.storage_read({ { collection = "lua_bank_open", key = params.key } })
  local opening = 0
  if #found > 0 then
    opening = found[1].value.credited
  end
  print("bank", context.match_id, "opens at", opening)
  return { credited = opening }, 20, "bank:" .. tostring(opening)
end

function M.match_join_attempt(context, dispatcher, tick, state, presence, metadata)
  enter()
  local found = nk.storage_read({ { collection = "lua_bank_deny", key = presence.user_id } })
  leave()
  if #found > 0 then
    return state, false, "denied by storage"
  end
  return state, true
end

function M.match_join(context, dispatcher, tick, state, presences)
  enter()
  pause(context)
  joins = joins + #presences
  leave()
  return state
end

function M.match_leave(context, dispatcher, tick, state, presences)
  enter()
  leaves = leaves + #presences
  for _, p in ipairs(presences) do
    nk.storage_write({
      { collection = "lua_bank_left", key = context.match_id, user_id = p.user_id,
        value = { credited = state.credited }, permission_read = 2, permission_write = 0 },
    })
  end
  leave()
  return state
end

function M.match_loop(context, dispatcher, tick, state, messages)
  if state.first_tick == nil then
    state.first_tick = tick
  end
  enter()
  pause(context)
  for _, m in ipairs(messages) do
    -- "hold:<url>": the tick waits on an HTTP request (the test's server
    -- answers when it wants the match to go on).
    local url = string.match(m.data, "^hold:(.+)$")
    if url then
      nk.http_request(url, "get", {}, "", 10000)
    end
    local amount = tonumber(string.match(m.data, "^bank:(%d+)$"))
    if amount then
      local updated = nk.wallet_update(m.sender.user_id, { coins = amount }, {}, true)
      state.credited = state.credited + amount
      nk.storage_write({
        { collection = "lua_bank_total", key = context.match_id, value = { credited = state.credited },
          permission_read = 0, permission_write = 0 },
      })
      dispatcher.broadcast_message(200, nk.json_encode({ coins = updated.coins, credited = state.credited }),
        { m.sender })
    end
  end
  leave()
  return state
end

function M.match_terminate(context, dispatcher, tick, state, grace_seconds)
  return state
end

function M.match_signal(context, dispatcher, tick, state, data)
  if data == "env" then
    return state, nk.json_encode({ ctx = context.env, config = nk.get_config().runtime.env })
  end
  if data == "overlaps" then
    enter()
    pause(context)
    leave()
    return state, string.format("first:%d overlaps:%d joins:%d leaves:%d", state.first_tick, overlaps, joins, leaves)
  end
  local found = nk.storage_read({ { collection = "lua_bank_total", key = context.match_id } })
  if #found == 0 then
    return state, "none"
  end
  return state, data .. ":" .. tostring(found[1].value.credited)
end

-- Creates a bank match whose books open at the payload's amount.
nk.register_rpc(function(context, payload)
  local key = nk.uuid_v4()
  nk.storage_write({
    { collection = "lua_bank_open", key = key, value = { credited = tonumber(payload) },
      permission_read = 0, permission_write = 0 },
  })
  return nk.match_create("bank", { key = key })
end, "lua.bank_create")

-- Marks a user as denied entry to bank matches.
nk.register_rpc(function(context, payload)
  nk.storage_write({
    { collection = "lua_bank_deny", key = payload, value = {}, permission_read = 0, permission_write = 0 },
  })
  return "ok"
end, "lua.bank_deny")

-- An RPC's context env.
nk.register_rpc(function(context, payload)
  return nk.json_encode(context.env)
end, "lua.bank_env")

-- Signals a bank match: its answer.
nk.register_rpc(function(context, payload)
  local m = nk.json_decode(payload)
  return nk.match_signal(m.match_id, m.data)
end, "lua.bank_signal")

return M
