-- Kairos's own test module for Lua realtime hooks, in Nakama's style: the
-- hooks get the envelope as a table (the protojson form, snake_case
-- fields) and act only on messages marked for them, so the other tests
-- sharing this server are not disturbed.
local nk = require("nakama")

-- The test marker of a chat message's content, if any.
local function marker(content)
  if type(content) ~= "string" or not string.find(content, "lua_rt_hook", 1, true) then
    return nil
  end
  local ok, decoded = pcall(nk.json_decode, content)
  if not ok or type(decoded) ~= "table" then
    return nil
  end
  return decoded.lua_rt_hook, decoded
end

-- Registered by Nakama's message name in lower case: matched in any case.
nk.register_rt_before(function(context, envelope)
  local msg = envelope.channel_message_send
  local mark, content = marker(msg.content)
  if mark == "rewrite" then
    msg.content = nk.json_encode({
      rewritten_by = context.execution_mode,
      text = string.upper(content.text),
      user_id = context.user_id,
      cid = envelope.cid,
    })
  elseif mark == "reject" then
    error("refused by the Lua realtime hook")
  elseif mark == "reject_code" then
    error({ "refused with a code", 3 })
  elseif mark == "disable" then
    return nil
  elseif mark == "retype" then
    -- Another message than the one received: refused.
    return { channel_leave = { channel_id = msg.channel_id } }
  end
  return envelope
end, "channelmessagesend")

nk.register_rt_after(function(context, out, input)
  local msg = input.channel_message_send
  local mark, content = marker(msg.content)
  if mark ~= "after" then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = content.key, user_id = context.user_id,
      value = {
        mode = context.execution_mode,
        channel_id = msg.channel_id,
        content = msg.content,
        -- The reply the client got, and the request's cid, as Nakama
        -- gives them.
        out = out,
        cid = input.cid,
        session_id = context.session_id,
      },
      permission_read = 1, permission_write = 0 },
  })
end, "ChannelMessageSend")

-- Nakama's CamelCase name: joins to rooms named "lua-rt-alias-<x>" go to
-- "lua-rt-room-<x>" instead.
nk.register_rt_before(function(context, envelope)
  local join = envelope.channel_join
  local rest = string.match(join.target or "", "^lua%-rt%-alias%-(.*)$")
  if rest then
    join.target = "lua-rt-room-" .. rest
  end
  return envelope
end, "ChannelJoin")

-- After ChannelLeave of a test room: its reply is the empty envelope
-- ({cid = ...}); the hook keeps what it got under the caller's user.
nk.register_rt_after(function(context, out, input)
  local leave = input.channel_leave
  if not string.find(leave.channel_id or "", "lua-rt-room-", 1, true) then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = "leave", user_id = context.user_id,
      value = { out = out or "nil", input = input },
      permission_read = 1, permission_write = 0 },
  })
end, "ChannelLeave")

-- After MatchDataSend: Nakama's reply is nil (match data is not
-- answered); the hook records that for match ids it is told about.
nk.register_rt_after(function(context, out, input)
  local send = input.match_data_send
  if send.op_code ~= "4242" then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = "match_data", user_id = context.user_id,
      value = { out_is_nil = out == nil, input = input },
      permission_read = 1, permission_write = 0 },
  })
end, "MatchDataSend")

-- After MatchCreate and MatchJoin: the reply comes from the match's
-- owner, maybe on another shard; the hook gets it as the client did.
-- Only test matches (named "lua-rt-...", or joined with the metadata
-- lua_rt = <key>) are recorded.
nk.register_rt_after(function(context, out, input)
  if not string.find(input.match_create.name or "", "lua-rt-", 1, true) then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = "match_create", user_id = context.user_id,
      value = { out = out or "nil", input = input },
      permission_read = 1, permission_write = 0 },
  })
end, "MatchCreate")

nk.register_rt_after(function(context, out, input)
  local key = (input.match_join.metadata or {}).lua_rt
  if key == nil then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = key, user_id = context.user_id,
      value = { out = out or "nil" },
      permission_read = 1, permission_write = 0 },
  })
end, "MatchJoin")

-- After StatusFollow (no other test of this server follows): Nakama's
-- hook gets no reply for a follow naming no one, the status otherwise.
nk.register_rt_after(function(context, out, input)
  local follow = input.status_follow or {}
  local key = "status_follow_" .. #(follow.user_ids or {})
  nk.storage_write({
    { collection = "lua_rt_hooks", key = key, user_id = context.user_id,
      value = { out = out or "nil" },
      permission_read = 1, permission_write = 0 },
  })
end, "StatusFollow")

-- After ChannelJoin of a test room and PartyCreate of a test party
-- (its label naming lua_rt): replies from the channel's and the party's owner.
nk.register_rt_after(function(context, out, input)
  if not string.find(input.channel_join.target or "", "lua-rt-room-", 1, true) then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = "channel_join", user_id = context.user_id,
      value = { out = out or "nil" },
      permission_read = 1, permission_write = 0 },
  })
end, "ChannelJoin")

nk.register_rt_after(function(context, out, input)
  if not string.find(input.party_create.label or "", "lua_rt", 1, true) then
    return
  end
  nk.storage_write({
    { collection = "lua_rt_hooks", key = "party_create", user_id = context.user_id,
      value = { out = out or "nil" },
      permission_read = 1, permission_write = 0 },
  })
end, "PartyCreate")
