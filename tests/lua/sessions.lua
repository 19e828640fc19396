-- Kairos's Lua test RPCs for authentication, linking, sessions, bans,
-- account export and deletion from the nk module. Each takes its
-- arguments as JSON, returns what it saw as JSON, and the refusals of bad
-- arguments (Nakama's words) caught with pcall.
local nk = require("nakama")

-- The error text of a call expected to fail ("no error" if it did not).
local function refusal(f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    return "no error"
  end
  return err
end

-- Authenticates by device, custom id and email, twice each where it
-- matters (the second finds the first's account), logs in by username,
-- and collects the refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local d_id, d_name, d_created = nk.authenticate_device(p.device, p.device_username)
  local d2_id, _, d2_created = nk.authenticate_device(p.device)
  local c_id, c_name, c_created = nk.authenticate_custom(p.custom, nil, true)
  local e_id, e_name, e_created = nk.authenticate_email(p.email, p.password)
  local u_id, u_name, u_created = nk.authenticate_email(nil, p.password, e_name, false)
  return nk.json_encode({
    device = { user_id = d_id, username = d_name, created = d_created },
    device_again = { user_id = d2_id, created = d2_created },
    custom = { user_id = c_id, username = c_name, created = c_created },
    email = { user_id = e_id, username = e_name, created = e_created },
    by_username = { user_id = u_id, username = u_name, created = u_created },
    wrong_password = refusal(nk.authenticate_email, p.email, "wrong-password"),
    not_found = refusal(nk.authenticate_device, p.unknown_device, nil, false),
    taken_username = refusal(nk.authenticate_custom, p.unknown_custom, d_name),
    no_id = refusal(nk.authenticate_device, ""),
    short_device = refusal(nk.authenticate_device, "short"),
    short_custom = refusal(nk.authenticate_custom, "abc"),
    spaced_custom = refusal(nk.authenticate_custom, "has a space"),
    bad_username = refusal(nk.authenticate_device, p.unknown_device, "tab\there"),
    bad_email = refusal(nk.authenticate_email, "not-an-email", "password1"),
    short_email = refusal(nk.authenticate_email, "a@b.co", "password1"),
    no_password = refusal(nk.authenticate_email, p.email, ""),
    short_password = refusal(nk.authenticate_email, p.email, "short"),
    no_email_no_username = refusal(nk.authenticate_email, nil, "password1"),
  })
end, "sessions.authenticate")

-- One authenticate_device call: its results, or its error.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local ok, id, name, created = pcall(nk.authenticate_device, p.device, nil, p.create)
  if not ok then
    return nk.json_encode({ error = id })
  end
  return nk.json_encode({ user_id = id, username = name, created = created })
end, "sessions.device")

-- A session token for a user, and the refusals of bad arguments.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local token, exp = nk.authenticate_token_generate(p.user_id, p.username, p.exp, p.vars)
  local many = {}
  for i = 1, 1001 do
    many["k" .. i] = "v"
  end
  return nk.json_encode({
    token = token,
    exp = exp,
    no_id = refusal(nk.authenticate_token_generate, "", "name"),
    bad_id = refusal(nk.authenticate_token_generate, "nope", "name"),
    no_username = refusal(nk.authenticate_token_generate, p.user_id),
    bad_vars = refusal(nk.authenticate_token_generate, p.user_id, "name", 0, { a = 1 }),
    bad_var_key = refusal(nk.authenticate_token_generate, p.user_id, "name", 0, { "x" }),
    too_many_vars = refusal(nk.authenticate_token_generate, p.user_id, "name", 0, many),
  })
end, "sessions.token")

-- Links a device, a custom id and an email to a user, with the refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.link_device(p.user_id, p.device)
  nk.link_custom(p.user_id, p.custom)
  nk.link_email(p.user_id, p.email, p.password)
  -- Linking what the user already holds changes nothing.
  nk.link_device(p.user_id, p.device)
  return nk.json_encode({
    bad_user = refusal(nk.link_device, "nope", p.device),
    no_device = refusal(nk.link_device, p.user_id, ""),
    short_device = refusal(nk.link_device, p.user_id, "short"),
    no_custom = refusal(nk.link_custom, p.user_id, ""),
    short_custom = refusal(nk.link_custom, p.user_id, "abc"),
    no_email = refusal(nk.link_email, p.user_id, "", "password1"),
    no_password = refusal(nk.link_email, p.user_id, p.email, ""),
    short_password = refusal(nk.link_email, p.user_id, "other@example.com", "short"),
    taken_device = refusal(nk.link_device, p.user_id, p.taken_device),
  })
end, "sessions.link")

-- Unlinks the device, custom id and email linked above; the account's
-- last identifier stays.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local bad_user = refusal(nk.unlink_device, "nope", p.device)
  local no_device = refusal(nk.unlink_device, p.user_id, "")
  nk.unlink_device(p.user_id, p.device)
  nk.unlink_custom(p.user_id, p.custom)
  nk.unlink_email(p.user_id, p.email)
  return nk.json_encode({
    bad_user = bad_user,
    no_device = no_device,
    last = refusal(nk.unlink_device, p.user_id, p.last_device),
    not_held = refusal(nk.unlink_custom, p.user_id, "not-my-custom-id"),
    -- No id: whatever custom id the user holds (none now), as Nakama.
    any_custom = refusal(nk.unlink_custom, p.user_id),
  })
end, "sessions.unlink")

-- The caller's session id, for a socket to learn its own.
nk.register_rpc(function(context, payload)
  return nk.json_encode({ session_id = context.session_id or "" })
end, "sessions.whoami")

-- Bans (or, with `unban`, unbans) the users named, with the refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  if p.unban then
    nk.users_unban_id(p.ids)
  else
    nk.users_ban_id(p.ids)
  end
  local many = {}
  for i = 1, 1001 do
    many[i] = "00000000-0000-0000-0000-000000000001"
  end
  return nk.json_encode({
    no_list = refusal(nk.users_ban_id),
    bad_id = refusal(nk.users_ban_id, { "nope" }),
    not_string = refusal(nk.users_unban_id, { 5 }),
    empty_id = refusal(nk.users_ban_id, { "" }),
    not_list = refusal(nk.users_ban_id, { "00000000-0000-0000-0000-000000000001", x = 1 }),
    too_many = refusal(nk.users_ban_id, many),
    empty = refusal(nk.users_ban_id, {}),
  })
end, "sessions.ban")

-- Disconnects a session, with the refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.session_disconnect(p.session_id, p.reason)
  return nk.json_encode({
    no_id = refusal(nk.session_disconnect, ""),
    bad_id = refusal(nk.session_disconnect, "nope"),
    bad_reason = refusal(nk.session_disconnect, p.session_id, 9),
    unknown = refusal(nk.session_disconnect, "00000000-0000-0000-0000-000000000001"),
  })
end, "sessions.disconnect")

-- Logs a user out (of the tokens given, or of every session), with the
-- refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local wrong_user = "not tried"
  if p.token then
    wrong_user = refusal(nk.session_logout, p.other_user_id, p.token)
  end
  nk.session_logout(p.user_id, p.token, p.refresh_token)
  return nk.json_encode({
    wrong_user = wrong_user,
    no_id = refusal(nk.session_logout, ""),
    bad_id = refusal(nk.session_logout, "nope"),
    bad_token = refusal(nk.session_logout, p.user_id, "not.a.token"),
    bad_refresh = refusal(nk.session_logout, p.user_id, nil, "not.a.token"),
  })
end, "sessions.logout")

-- Gives a user something of each kind an export holds that the tests
-- cannot make over REST: a wallet ledger entry, a stored notification, a
-- storage object and a leaderboard record.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.wallet_update(p.user_id, { coins = 5 }, { why = "export" }, true)
  nk.notification_send(p.user_id, "export note", { n = 1 }, 101, nil, true)
  nk.storage_write({
    { collection = "export", key = "k1", user_id = p.user_id, value = { v = 1 } },
  })
  nk.leaderboard_create(p.board, false, "desc", "best", nil, nil)
  nk.leaderboard_record_write(p.board, p.user_id, "exporter", 42)
  return "{}"
end, "sessions.seed")

-- A user's export (the JSON text itself), or the refusal.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local ok, export = pcall(nk.account_export_id, p.user_id)
  if not ok then
    return nk.json_encode({ error = export })
  end
  return export
end, "sessions.export")

-- Deletes a user's account, with the refusals.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.account_delete_id(p.user_id, p.recorded)
  return nk.json_encode({
    bad_id = refusal(nk.account_delete_id, "nope"),
    bad_export_id = refusal(nk.account_export_id, "nope"),
    system = refusal(nk.account_delete_id, "00000000-0000-0000-0000-000000000000"),
    unknown = refusal(nk.account_delete_id, "00000000-0000-0000-0000-000000000001"),
  })
end, "sessions.delete")
