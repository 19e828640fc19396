-- Kairos's Lua test RPCs for accounts, notifications and stream
-- presences from the nk module: each acts for its caller, returns what it
-- saw as JSON, and the refusals of bad arguments (Nakama's words) caught
-- with pcall.
local nk = require("nakama")

-- The error text of a call expected to fail ("no error" if it did not).
local function refusal(f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    return "no error"
  end
  return err
end

-- Updates the caller's profile, then reads it back with accounts_get_id
-- (an unknown id beside it is left out).
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me = context.user_id
  nk.account_update_id(me, { level = 7 }, nil, p.display_name, "Europe/Paris", "Lyon", "fr",
    "https://example.com/a.png")
  local accounts = nk.accounts_get_id({ me, p.unknown_id })
  local a = accounts[1]
  return nk.json_encode({
    count = #accounts,
    user_id = a.user_id,
    nested_user_id = a.user.user_id,
    display_name = a.display_name,
    level = a.metadata.level,
    has_devices = a.devices ~= nil,
    online = a.online,
    bad_id = refusal(nk.account_update_id, "nope", nil, nil, "x"),
    no_fields = refusal(nk.account_update_id, me),
    bad_username = refusal(nk.account_update_id, me, nil, "has\ttab"),
    bad_ids = refusal(nk.accounts_get_id, { "nope" }),
    not_string = refusal(nk.accounts_get_id, { 5 }),
  })
end, "accounts.update")

-- Three random users: distinct, none the system user.
nk.register_rpc(function(context, payload)
  local users = nk.users_get_random(3)
  local ids, distinct, system = {}, 0, false
  for _, u in ipairs(users) do
    if not ids[u.user_id] then
      distinct = distinct + 1
    end
    ids[u.user_id] = true
    system = system or u.user_id == "00000000-0000-0000-0000-000000000000"
  end
  return nk.json_encode({
    count = #users,
    distinct = distinct,
    system = system,
    named = users[1].username ~= "",
    none = #nk.users_get_random(),
    too_many = refusal(nk.users_get_random, 1001),
  })
end, "accounts.random")

-- Sends the caller three stored notifications, lists them two at a
-- time, and deletes the first two.
nk.register_rpc(function(context, payload)
  local me = context.user_id
  for i = 1, 3 do
    nk.notification_send(me, "lua note " .. i, { n = i }, 101, nil, true)
  end
  local first, cursor = nk.notifications_list(me, 2)
  local second, cursor2 = nk.notifications_list(me, 2, cursor)
  local third, cursor3 = nk.notifications_list(me, 2, cursor2)
  nk.notifications_delete({
    { user_id = me, notification_id = first[1].id },
    { user_id = me, notification_id = first[2].id },
  })
  local content = nk.json_decode(first[1].content)
  return nk.json_encode({
    first = #first,
    second = #second,
    second_subject = second[1].subject,
    third = #third,
    end_cursor_nil = cursor3 == nil,
    deleted = { first[1].id, first[2].id },
    content_n = content.n,
    code = first[1].code,
    sender = first[1].senderId,
    persistent = first[1].persistent,
    bad_limit = refusal(nk.notifications_list, me, 0),
    bad_user = refusal(nk.notifications_list, "nope"),
    bad_delete = refusal(nk.notifications_delete, { { user_id = me, notification_id = "x" } }),
  })
end, "accounts.notifications")

-- Sends the caller and another user one stored notification each, reads
-- them back by id (all, then only the caller's), and deletes the other
-- user's by id alone and the caller's by id and user.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me = context.user_id
  nk.notification_send(me, "mine", { who = "me" }, 102, nil, true)
  nk.notification_send(p.other_id, "theirs", { who = "other" }, 103, me, true)
  local mine = nk.notifications_list(me, 10)[1].id
  local theirs = nk.notifications_list(p.other_id, 10)[1].id
  local both = nk.notifications_get_id({ mine, theirs })
  local only_mine = nk.notifications_get_id({ mine, theirs }, me)
  local got_theirs
  for _, n in ipairs(both) do
    if n.subject == "theirs" then
      got_theirs = n
    end
  end
  -- Another user's id named: nothing of the caller's is deleted.
  nk.notifications_delete_id({ mine }, p.other_id)
  nk.notifications_delete_id({ theirs })
  return nk.json_encode({
    both = #both,
    only_mine = #only_mine,
    only_mine_subject = only_mine[1].subject,
    theirs_user = got_theirs.user_id,
    theirs_sender = got_theirs.sender_id,
    theirs_who = got_theirs.content.who,
    theirs_code = got_theirs.code,
    bad_id = refusal(nk.notifications_get_id, { "nope" }),
    not_list = refusal(nk.notifications_delete_id, { a = 1 }),
  })
end, "accounts.notifications_by_id")

-- notification_send_all(subject, content, code, persistent) from the
-- payload, and its refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.notification_send_all(p.subject, { to = "all" }, 104, p.persistent)
  return nk.json_encode({
    no_subject = refusal(nk.notification_send_all, "", {}, 1),
    bad_code = refusal(nk.notification_send_all, "s", {}, 0),
  })
end, "accounts.send_all")

-- The stream of the next RPCs, each test's own label.
local function lua_stream(payload)
  return { mode = 120, label = nk.json_decode(payload).label }
end

-- Over the socket: joins the caller's session to the stream, to watch.
nk.register_rpc(function(context, payload)
  nk.stream_user_join(context.user_id, context.session_id, lua_stream(payload))
  return "{}"
end, "accounts.stream_watch")

-- Over the socket: joins the caller's session to the stream, updates its
-- status, reads it back, kicks it, and reads it again.
nk.register_rpc(function(context, payload)
  local stream = lua_stream(payload)
  local me, session = context.user_id, context.session_id
  nk.stream_user_join(me, session, stream)
  nk.stream_user_update(me, session, stream, false, true, "busy")
  local got = nk.stream_user_get(me, session, stream)
  nk.stream_user_kick({ user_id = me, session_id = session }, stream)
  local after = nk.stream_user_get(me, session, stream)
  return nk.json_encode({
    status = got.status,
    username = got.username,
    hidden = got.hidden,
    persistence = got.persistence,
    after_nil = after == nil,
    count = nk.stream_count(stream),
    no_session = refusal(nk.stream_user_update, me, "00000000-0000-0000-0000-0000000000aa", stream),
    bad_kick = refusal(nk.stream_user_kick, { user_id = me }, stream),
  })
end, "accounts.stream")
