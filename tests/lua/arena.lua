-- An authoritative match written in Lua, in the shape Nakama's match
-- modules have: it echoes each message to everyone with op code + 100,
-- refuses a join whose metadata asks to be refused, renames its label on
-- the first join, and answers signals.
local nk = require("nakama")

local M = {}

function M.match_init(context, params)
  local state = { joined = 0, label = params.label or "arena" }
  return state, 10, state.label
end

function M.match_join_attempt(context, dispatcher, tick, state, presence, metadata)
  if metadata.refuse == "yes" then
    return state, false, "refused by lua"
  end
  return state, true
end

function M.match_join(context, dispatcher, tick, state, presences)
  state.joined = state.joined + #presences
  dispatcher.match_label_update(nk.json_encode({ joined = state.joined }))
  return state
end

function M.match_leave(context, dispatcher, tick, state, presences)
  state.joined = state.joined - #presences
  return state
end

function M.match_loop(context, dispatcher, tick, state, messages)
  for _, m in ipairs(messages) do
    if m.data == "stop" then
      return nil
    end
    dispatcher.broadcast_message(m.op_code + 100, m.data .. "@" .. context.match_id, nil, m.sender)
  end
  return state
end

function M.match_terminate(context, dispatcher, tick, state, grace_seconds)
  return state
end

function M.match_signal(context, dispatcher, tick, state, data)
  return state, "signal:" .. data .. ":" .. state.joined
end

return M
