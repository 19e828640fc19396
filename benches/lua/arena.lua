-- The stock arena (`example.arena` in shards/src/modules/examples.rs)
-- written in Lua, for the Lua match bench (BENCHMARKS.md, "A Lua match
-- against the Rust one"): the same game, the same messages. Each player
-- holds a position; an input (op code 1, {"dx": n, "dy": n}, each step
-- clamped to -1..1) moves its sender; every tick the match broadcasts
-- {"tick": n, "players": {"<user id>": [x, y], ...}} with op code 2; op
-- code 99 ends it, and so do 30 s without players.
local nk = require("nakama")

local M = {}

local function label(state)
  return nk.json_encode({ mode = "arena", players = state.count })
end

local function step(v)
  if type(v) ~= "number" then
    return 0
  end
  if v > 1 then
    return 1
  elseif v < -1 then
    return -1
  end
  return math.floor(v)
end

function M.match_init(context, params)
  local max_players = tonumber(params.max_players) or 8
  if max_players < 1 then max_players = 1 end
  if max_players > 64 then max_players = 64 end
  local state = {
    max_players = max_players,
    tick_rate = tonumber(params.tick_rate) or 10,
    positions = {},
    count = 0,
    empty_ticks = 0,
  }
  return state, state.tick_rate, label(state)
end

function M.match_join_attempt(context, dispatcher, tick, state, presence, metadata)
  if state.count >= state.max_players then
    return state, false, "match full"
  end
  return state, true
end

function M.match_join(context, dispatcher, tick, state, presences)
  for _, p in ipairs(presences) do
    if state.positions[p.user_id] == nil then
      state.count = state.count + 1
    end
    state.positions[p.user_id] = { 0, 0 }
  end
  dispatcher.match_label_update(label(state))
  return state
end

function M.match_leave(context, dispatcher, tick, state, presences)
  for _, p in ipairs(presences) do
    if state.positions[p.user_id] ~= nil then
      state.count = state.count - 1
      state.positions[p.user_id] = nil
    end
  end
  dispatcher.match_label_update(label(state))
  return state
end

function M.match_loop(context, dispatcher, tick, state, messages)
  for _, m in ipairs(messages) do
    if m.op_code == 1 then
      local ok, move = pcall(nk.json_decode, m.data)
      local pos = state.positions[m.sender.user_id]
      if ok and type(move) == "table" and pos ~= nil then
        pos[1] = pos[1] + step(move.dx)
        pos[2] = pos[2] + step(move.dy)
      end
    elseif m.op_code == 99 then
      return nil
    end
  end
  if state.count == 0 then
    state.empty_ticks = state.empty_ticks + 1
    if state.empty_ticks >= 30 * state.tick_rate then
      return nil
    end
    return state
  end
  state.empty_ticks = 0
  dispatcher.broadcast_message(2, nk.json_encode({ tick = tick, players = state.positions }))
  return state
end

function M.match_terminate(context, dispatcher, tick, state, grace_seconds)
  return state
end

function M.match_signal(context, dispatcher, tick, state, data)
  return state, label(state)
end

return M
