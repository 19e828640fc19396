-- Kairos's Lua test RPCs for chat, status, friends-of-friends, friend
-- metadata and status, random groups, notification updates and
-- tournament attempts from game code. Each RPC acts for its caller,
-- returns what it saw as JSON, and the refusals of bad arguments
-- (Nakama's words) caught with pcall.
local nk = require("nakama")

-- The error text of a call expected to fail ("no error" if it did not).
local function refusal(f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    return "no error"
  end
  return err
end

local function ids(list, field)
  local out = {}
  for i, v in ipairs(list or {}) do
    out[i] = v[field]
  end
  return out
end

-- Builds channel ids, sends, updates and removes messages in a room (as
-- the server and as the caller), and pages through its history.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me, name = context.user_id, context.username
  local room = nk.channel_id_build("", p.room, 1)
  local dm = nk.channel_id_build(me, p.other_id, 2)
  local gid = nk.uuid_v4()
  local sys = nk.channel_message_send(room, { text = "from the server" }, nil, nil, true)
  local mine = nk.channel_message_send(room, { text = "from lua" }, me, name, true)
  local upd = nk.channel_message_update(room, mine.messageId, { text = "edited" }, me, name, true)
  local eph = nk.channel_message_send(room, { text = "not kept" }, me, name)
  local sys2 = nk.channel_message_send(room, { text = "to remove" }, "", "", true)
  local rem = nk.channel_message_remove(room, sys2.messageId, nil, nil, true)
  local page1, next1, prev1 = nk.channel_messages_list(room, 1, true)
  local page2, next2, prev2 = nk.channel_messages_list(room, 1, true, next1)
  local back = nk.channel_messages_list(room, 10, false)
  return nk.json_encode({
    room = room,
    dm = dm,
    sys = sys,
    mine = mine,
    upd = upd,
    eph = eph,
    rem = rem,
    page1 = page1,
    next1_is_string = type(next1) == "string",
    prev1_is_nil = prev1 == nil,
    page2 = page2,
    next2_is_nil = next2 == nil,
    prev2_is_string = type(prev2) == "string",
    back = ids(back, "messageId"),
    bad_channel = refusal(nk.channel_message_send, "not-a-channel", {}),
    bad_list_channel = refusal(nk.channel_messages_list, "9...x"),
    bad_content = refusal(nk.channel_message_send, room, { 1, 2 }),
    bad_sender = refusal(nk.channel_message_send, room, {}, "nope"),
    bad_type = refusal(nk.channel_id_build, "", "x", 4),
    long_room = refusal(nk.channel_id_build, "", string.rep("a", 65), 1),
    dm_nobody = refusal(nk.channel_id_build, me, nk.uuid_v4(), 2),
    dm_no_sender = refusal(nk.channel_id_build, "", p.other_id, 2),
    group_not_member = refusal(nk.channel_id_build, me, nk.uuid_v4(), 3),
    gid = gid,
    group_as_server = nk.channel_id_build("", gid, 3),
    update_missing = refusal(nk.channel_message_update, room, nk.uuid_v4(), {}, me, name, true),
    remove_not_mine = refusal(nk.channel_message_remove, room, sys.messageId, me, name, true),
    bad_message_id = refusal(nk.channel_message_remove, room, "x"),
    bad_limit = refusal(nk.channel_messages_list, room, 101),
    bad_cursor = refusal(nk.channel_messages_list, room, 10, false, next1),
  })
end, "nksocial.chat")

-- The calling socket's session follows (or unfollows) the users given.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local sid = context.session_id
  if p.unfollow then
    nk.status_unfollow(sid, p.users)
  else
    nk.status_follow(sid, p.users)
  end
  local many = {}
  for i = 1, 200 do
    many[i] = nk.uuid_v4()
  end
  return nk.json_encode({
    bad_session = refusal(nk.status_follow, "x", {}),
    bad_user = refusal(nk.status_follow, sid, { "nope" }),
    not_list = refusal(nk.status_unfollow, sid, { a = "b" }),
    not_string = refusal(nk.status_follow, sid, { 7 }),
    too_many = refusal(nk.status_follow, sid, many),
    unknown_session = refusal(nk.status_follow, nk.uuid_v4(), { p.users[1] }),
  })
end, "nksocial.status")

-- The caller befriends the other user, who befriends a third: the third
-- is a friend of a friend. The caller's note on the other is replaced,
-- and the edges read back.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me, name = context.user_id, context.username
  nk.friends_add(me, name, { p.other_id }, nil, { note = "first" })
  nk.friends_add(p.other_id, p.other_username, { me, p.third_id })
  nk.friends_add(p.third_id, p.third_username, { p.other_id })
  local fof, cursor = nk.friends_of_friends_list(me, 10)
  local page, page_cursor = nk.friends_of_friends_list(p.other_id, 1)
  nk.friend_metadata_update(me, p.other_id, { note = "updated" })
  local status = nk.users_get_friend_status(me, { p.other_id, p.third_id })
  return nk.json_encode({
    fof = fof,
    cursor_is_nil = cursor == nil,
    page_len = #page,
    page_cursor_is_string = type(page_cursor) == "string",
    status = status,
    bad_limit = refusal(nk.friends_of_friends_list, me, 0),
    bad_cursor = refusal(nk.friends_of_friends_list, me, 10, "nope"),
    bad_user = refusal(nk.friends_of_friends_list, "nope"),
    bad_status_ids = refusal(nk.users_get_friend_status, me, { "nope" }),
    bad_status_user = refusal(nk.users_get_friend_status, "nope", {}),
    status_not_list = refusal(nk.users_get_friend_status, me, { a = "b" }),
    no_metadata = refusal(nk.friend_metadata_update, me, p.other_id),
    bad_friend = refusal(nk.friend_metadata_update, me, "nope", {}),
  })
end, "nksocial.friends")

nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  for _, n in ipairs(p.names) do
    nk.group_create(context.user_id, n)
  end
  local two = nk.groups_get_random(2)
  return nk.json_encode({
    two = ids(two, "id"),
    names = ids(two, "name"),
    none = #nk.groups_get_random(),
    bad_count = refusal(nk.groups_get_random, 1001),
  })
end, "nksocial.groups_random")

-- Sends the caller a notification, then rewrites it.
nk.register_rpc(function(context, payload)
  local me = context.user_id
  nk.notification_send(me, "before", { a = 1 }, 5, nil, true)
  local listed = nk.notifications_list(me, 100)
  local id
  for _, n in ipairs(listed) do
    if n.subject == "before" then
      id = n.id
    end
  end
  nk.notifications_update({ { id = id, subject = "after", content = { b = 2 } } })
  local after = nk.notifications_get_id({ id })[1]
  nk.notifications_update({ { id = id, sender = me } })
  local sent = nk.notifications_get_id({ id })[1]
  -- An id that is not stored changes nothing.
  nk.notifications_update({ { id = nk.uuid_v4(), subject = "nobody" } })
  return nk.json_encode({
    id = id,
    subject = after.subject,
    content = after.content,
    sender = sent.sender_id,
    still = sent.subject,
    bad_id = refusal(nk.notifications_update, { { id = "nope" } }),
    bad_entry = refusal(nk.notifications_update, { "x" }),
    empty_subject = refusal(nk.notifications_update, { { id = id, subject = "" } }),
    bad_content = refusal(nk.notifications_update, { { id = id, content = "x" } }),
    bad_sender = refusal(nk.notifications_update, { { id = id, sender = "nope" } }),
  })
end, "nksocial.notifications_update")

-- A tournament allowing one score: more attempts let the caller score
-- again.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me = context.user_id
  nk.tournament_create(p.tournament, false, "desc", "incr", 3600, nil, nil,
    "Attempts", "", 1, 0, 0, 0, 1, false)
  nk.tournament_record_write(p.tournament, me, "", 1)
  local second = refusal(nk.tournament_record_write, p.tournament, me, "", 1)
  nk.tournament_add_attempt(p.tournament, me, 2)
  nk.tournament_record_write(p.tournament, me, "", 1)
  local records = nk.tournament_records_list(p.tournament, { me }, 10)
  nk.tournament_add_attempt(p.tournament, me, -100)
  local lowered = nk.tournament_records_list(p.tournament, { me }, 10)
  return nk.json_encode({
    second = second,
    score = records[1].score,
    num_score = records[1].num_score,
    max_num_score = records[1].max_num_score,
    lowered = lowered[1].max_num_score,
    zero = refusal(nk.tournament_add_attempt, p.tournament, me, 0),
    unknown = refusal(nk.tournament_add_attempt, "no-such-" .. p.tournament, me, 1),
    bad_owner = refusal(nk.tournament_add_attempt, p.tournament, "nope", 1),
    no_id = refusal(nk.tournament_add_attempt, "", me, 1),
  })
end, "nksocial.tournament_attempts")

-- The calling socket joins a game stream; envelopes given as tables
-- reach it.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local stream = { mode = 121, label = p.label }
  nk.stream_user_join(context.user_id, context.session_id, stream)
  nk.stream_send_raw(stream, {
    channel_message = {
      channel_id = "2...raw",
      message_id = p.message_id,
      code = 0,
      sender_id = context.user_id,
      content = "{\"raw\":true}",
      persistent = false,
      room_name = "raw",
    },
  })
  nk.stream_send_raw(stream, {
    notifications = { notifications = { { id = p.message_id, subject = "raw", content = "{}", code = 101 } } },
  }, { { session_id = context.session_id } }, false)
  -- To other sessions only: nothing reaches the caller.
  nk.stream_send_raw(stream, { stream_data = { data = "not for me" } }, { { session_id = nk.uuid_v4() } })
  nk.stream_send_raw(stream, { stream_data = { stream = { mode = 121, label = p.label }, data = "last" } })
  local many = {}
  for i = 1, 1001 do
    many[i] = { session_id = nk.uuid_v4() }
  end
  return nk.json_encode({
    unknown = refusal(nk.stream_send_raw, stream, { nope = {} }),
    client_message = refusal(nk.stream_send_raw, stream, { channel_join = { target = "x" } }),
    empty = refusal(nk.stream_send_raw, stream, {}),
    bad_field = refusal(nk.stream_send_raw, stream, { stream_data = { data = { 1 } } }),
    reserved = refusal(nk.stream_send_raw, { mode = 2, label = "x" }, { stream_data = {} }),
    too_many = refusal(nk.stream_send_raw, stream, { stream_data = {} }, many),
    no_table = refusal(nk.stream_send_raw, stream, "x"),
  })
end, "nksocial.stream_raw")
