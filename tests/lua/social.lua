-- Kairos's Lua test RPCs for the social and listing parts of the nk
-- module: groups, friends, leaderboard and tournament listings, wallets.
-- Each RPC acts for its caller, returns what it saw as JSON, and the
-- refusals of bad arguments (Nakama's words) caught with pcall.
local nk = require("nakama")

-- The error text of a call expected to fail ("no error" if it did not).
local function refusal(f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    return "no error"
  end
  return err
end

local function find(list, pred)
  for _, v in ipairs(list or {}) do
    if pred(v) then
      return v
    end
  end
  return nil
end

-- Creates a group as the caller, lets the other user join, promotes,
-- demotes and kicks them, and lists everything on the way.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me = context.user_id
  local g = nk.group_create(me, p.name, nil, "en", "made in lua", nil, true, { tier = 1 }, 10)
  nk.group_update(g.id, nil, nil, nil, nil, "updated in lua")
  local got = nk.groups_get_id({ g.id })
  nk.group_user_join(g.id, p.other_id, p.other_username)
  local members = nk.group_users_list(g.id, 10)
  nk.group_users_promote(g.id, { p.other_id })
  local promoted = find(nk.group_users_list(g.id, 10), function(m)
    return m.user.user_id == p.other_id
  end)
  nk.group_users_demote(g.id, { p.other_id })
  local demoted = find(nk.group_users_list(g.id, 10), function(m)
    return m.user.user_id == p.other_id
  end)
  nk.group_users_kick(g.id, { p.other_id })
  local after_kick = nk.group_users_list(g.id, 10)
  nk.group_user_join(g.id, p.other_id, p.other_username)
  local rejoined = nk.group_users_list(g.id, 10)
  nk.group_user_leave(g.id, p.other_id, p.other_username)
  local after_leave = nk.group_users_list(g.id, 10)
  nk.group_users_add(g.id, { p.other_id })
  nk.group_users_ban(g.id, { p.other_id })
  local banned = nk.group_users_list(g.id, 10, 4)
  local mine = nk.user_groups_list(me, 10)
  local listed, cursor = nk.groups_list(p.name, nil, nil, nil, 10)
  return nk.json_encode({
    id = g.id,
    creator_id = g.creator_id,
    open = g.open,
    max_count = g.max_count,
    tier = g.metadata.tier,
    description = got[1].description,
    members = #members,
    promoted_state = promoted.state,
    demoted_state = demoted.state,
    after_kick = #after_kick,
    rejoined = #rejoined,
    after_leave = #after_leave,
    banned = banned[1].user.user_id,
    my_state = mine[1].state,
    my_group = mine[1].group.name,
    listed = #listed,
    cursor_is_nil = cursor == nil,
    bad_owner = refusal(nk.group_create, "not-a-uuid", "x"),
    root_user = refusal(nk.group_users_add, g.id, { "00000000-0000-0000-0000-000000000000" }),
    open_missing = refusal(nk.groups_list, p.name),
    bad_limit = refusal(nk.user_groups_list, me, 101),
    not_admin = refusal(nk.group_update, g.id, p.other_id, "renamed"),
  })
end, "social.groups")

nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.group_delete(p.id)
  return nk.json_encode({ found = #nk.groups_get_id({ p.id }) })
end, "social.group_delete")

-- The caller invites the other user, who accepts; the caller blocks a
-- third user by username.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me, name = context.user_id, context.username
  nk.friends_add(me, name, { p.other_id }, nil, { note = "lua" })
  local invited = nk.friends_list(me, 10)
  nk.friends_add(p.other_id, p.other_username, { me })
  local friends, cursor = nk.friends_list(me, 10, 0)
  nk.friends_block(me, name, nil, { p.third_username })
  local blocked = nk.friends_list(me, 10, 3)
  return nk.json_encode({
    invited_state = invited[1].state,
    invited_note = invited[1].metadata.note,
    friend = friends[1].user.user_id,
    friend_online = friends[1].user.online,
    cursor_is_nil = cursor == nil,
    blocked = blocked[1].user.username,
    self_add = refusal(nk.friends_add, me, name, { me }),
    bad_limit = refusal(nk.friends_list, me, 5000),
    bad_state = refusal(nk.friends_list, me, 10, 7),
    nobody = refusal(nk.friends_add, me, name, nil, { "no-such-user-" .. p.other_id }),
  })
end, "social.friends")

nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.friends_delete(context.user_id, context.username, { p.other_id })
  return nk.json_encode({ left = #nk.friends_list(context.user_id, 10) })
end, "social.unfriend")

-- A board and a tournament with two records each, read back through
-- every listing.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me = context.user_id
  nk.leaderboard_create(p.board, true, "desc", "best")
  nk.leaderboard_record_write(p.board, me, "", 50)
  nk.leaderboard_record_write(p.board, p.other_id, "", 70)
  -- Every page, following the cursor: a shared database holds other
  -- tests' boards too.
  local board, board_cursor, pages = nil, nil, 0
  repeat
    local boards
    boards, board_cursor = nk.leaderboard_list(100, board_cursor)
    board = board or find(boards, function(b)
      return b.id == p.board
    end)
    pages = pages + 1
  until board_cursor == nil or pages > 1000
  local by_id = nk.leaderboards_get_id({ p.board, "no-such-board" })
  local records, owners, next_cursor, prev_cursor, rank_count =
    nk.leaderboard_records_list(p.board, { me }, 1)
  local hay, _, _, hay_count = nk.leaderboard_records_haystack(p.board, me, 10)
  local empty_count = select("#", nk.leaderboard_records_list(p.board, {}))

  nk.tournament_create(p.tournament, true, "desc", "best", 3600, nil, { cup = true },
    "Social cup", "", 3, 0, 0, 0, 0, false)
  nk.tournament_record_write(p.tournament, me, "", 9)
  nk.tournament_record_write(p.tournament, p.other_id, "", 4)
  local tn = nk.tournaments_get_id({ p.tournament })[1]
  local listed, list_cursor = nk.tournament_list(3, 3, 0, 0, 100)
  local trecords = nk.tournament_records_list(p.tournament, nil, 10)
  local thay = nk.tournament_records_haystack(p.tournament, p.other_id, 10)
  nk.tournament_record_delete(p.tournament, p.other_id)
  local after_delete = nk.tournament_records_list(p.tournament, nil, 10)

  -- A ranked board: a listing from rank 2's cursor, then ranks turned off.
  local ranked = p.board .. "-ranked"
  nk.leaderboard_create(ranked, true, "desc", "best", "", nil, true)
  nk.leaderboard_record_write(ranked, me, "", 50)
  nk.leaderboard_record_write(ranked, p.other_id, "", 70)
  local from_two = nk.leaderboard_records_list(ranked, nil, 1,
    nk.leaderboard_records_list_cursor_from_rank(ranked, 2))
  local rank_one = nk.leaderboard_records_list_cursor_from_rank(ranked, 1)
  local bad_rank = refusal(nk.leaderboard_records_list_cursor_from_rank, ranked, 0)
  nk.leaderboard_ranks_disable(ranked)
  local unranked = refusal(nk.leaderboard_records_list_cursor_from_rank, ranked, 2)
  nk.tournament_ranks_disable(p.tournament)
  local not_a_tournament = refusal(nk.tournament_ranks_disable, ranked)
  nk.leaderboard_delete(ranked)
  return nk.json_encode({
    from_two = from_two[1].owner_id,
    from_two_rank = from_two[1].rank,
    rank_one = rank_one,
    bad_rank = bad_rank,
    unranked = unranked,
    not_a_tournament = not_a_tournament,
    board_listed = board ~= nil,
    board_sort = board.sort_order,
    board_operator = board.operator,
    board_cursor_is_nil = board_cursor == nil,
    by_id = #by_id,
    first = records[1].owner_id,
    first_score = records[1].score,
    owner_score = owners[1].score,
    has_next = next_cursor ~= nil,
    prev_is_nil = prev_cursor == nil,
    rank_count = rank_count,
    hay = #hay,
    hay_count = hay_count,
    empty_count = empty_count,
    tn_title = tn.title,
    tn_category = tn.category,
    tn_can_enter = tn.can_enter,
    tn_cup = tn.metadata.cup,
    tn_join_required = tn.join_required,
    tn_listed = find(listed, function(t)
      return t.id == p.tournament
    end) ~= nil,
    tn_cursor_is_nil = list_cursor == nil,
    tn_records = #trecords,
    tn_top = trecords[1].score,
    tn_hay = #thay,
    tn_after_delete = #after_delete,
    no_times = refusal(nk.tournament_list),
    bad_categories = refusal(nk.tournament_list, 5, 2, 0, 0),
    bad_hay_limit = refusal(nk.leaderboard_records_haystack, p.board, me, 0),
    bad_list_limit = refusal(nk.leaderboard_list, 0),
    bad_owner = refusal(nk.tournament_records_list, p.tournament, { "nope" }),
  })
end, "social.boards")

nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  nk.leaderboard_delete(p.board)
  nk.tournament_delete(p.tournament)
  return nk.json_encode({
    boards = #nk.leaderboards_get_id({ p.board }),
    tournaments = #nk.tournaments_get_id({ p.tournament }),
  })
end, "social.boards_teardown")

-- Two wallets changed at once with a ledger; the caller's entry's
-- metadata edited and read back.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local me = context.user_id
  local results = nk.wallets_update({
    { user_id = me, changeset = { gems = 5 }, metadata = { why = "lua" } },
    { user_id = p.other_id, changeset = { gems = 2 } },
  }, true)
  local mine = find(results, function(r)
    return r.user_id == me
  end)
  local items, cursor = nk.wallet_ledger_list(me, 10)
  local edited = nk.wallet_ledger_update(items[1].id, { note = "edited" })
  local again = nk.wallet_ledger_list(me, 10)
  return nk.json_encode({
    results = #results,
    updated = mine.updated.gems,
    previous = mine.previous.gems or 0,
    items = #items,
    change = items[1].changeset.gems,
    cursor = cursor,
    edited_note = edited.metadata.note,
    merged_why = again[1].metadata.why,
    merged_note = again[1].metadata.note,
    no_changeset = refusal(nk.wallets_update, { { user_id = me } }),
    bad_user = refusal(nk.wallets_update, { { user_id = "nope", changeset = {} } }),
    bad_ledger_id = refusal(nk.wallet_ledger_update, "nope", {}),
    bad_ledger_limit = refusal(nk.wallet_ledger_list, me, 101),
  })
end, "social.wallets")
