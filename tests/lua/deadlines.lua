-- Kairos's tests: the leaderboard and tournament hooks, registered as
-- Nakama's Lua modules register them. Each hook keeps its latest call
-- for each board as a storage object of the system user (collection
-- "hooks", key "<hook>:<id>"), which `lua.hooks` reads.
local nk = require("nakama")

local function remember(kind, id, fields)
  fields.hook = kind
  fields.id = id
  nk.storage_write({
    {
      collection = "hooks",
      key = kind .. ":" .. id,
      value = fields,
      permission_read = 2,
      permission_write = 0,
    },
  })
end

nk.register_leaderboard_reset(function(context, leaderboard, reset)
  remember("leaderboard_reset", leaderboard.id, {
    reset = reset,
    mode = context.execution_mode,
    operator = leaderboard.operator,
    next_reset = leaderboard.next_reset,
  })
end)

nk.register_tournament_end(function(context, tournament, ends, reset)
  remember("tournament_end", tournament.id, {
    ["end"] = ends,
    reset = reset,
    size = tournament.size,
    title = tournament.title,
    mode = context.execution_mode,
  })
end)

nk.register_tournament_reset(function(context, tournament, ends, reset)
  remember("tournament_reset", tournament.id, {
    ["end"] = ends,
    reset = reset,
    size = tournament.size,
    title = tournament.title,
    mode = context.execution_mode,
  })
end)

-- {"board": id, "tournament": id}: a board and a tournament resetting
-- every two seconds, each written once by the caller.
nk.register_rpc(function(context, payload)
  local args = nk.json_decode(payload)
  nk.leaderboard_create(args.board, false, "desc", "incr", "*/2 * * * * * *")
  nk.tournament_create(args.tournament, false, "desc", "best", 2, "*/2 * * * * * *",
    { via = "lua" }, "Lua cup", "", 1, 0, 0, 1, 0, false, true)
  nk.leaderboard_record_write(args.board, context.user_id, context.username, 3)
  local record = nk.tournament_record_write(args.tournament, context.user_id, context.username, 5)
  return nk.json_encode({ expiry = record.expiry_time })
end, "lua.deadlines_setup")

local function keys(args)
  return {
    { collection = "hooks", key = "leaderboard_reset:" .. args.board },
    { collection = "hooks", key = "tournament_end:" .. args.tournament },
    { collection = "hooks", key = "tournament_reset:" .. args.tournament },
  }
end

-- {"board", "tournament"}: each hook's latest call for them, by hook
-- (absent if it has not been called).
nk.register_rpc(function(context, payload)
  local out = {}
  for _, o in ipairs(nk.storage_read(keys(nk.json_decode(payload)))) do
    out[o.value.hook] = o.value
  end
  return nk.json_encode(out)
end, "lua.hooks")

-- {"board", "tournament"}: deletes both (they reset every two seconds,
-- forever, on a database the tests share) and what the hooks kept.
nk.register_rpc(function(context, payload)
  local args = nk.json_decode(payload)
  nk.leaderboard_delete(args.board)
  nk.tournament_delete(args.tournament)
  nk.storage_delete(keys(args))
  return ""
end, "lua.deadlines_teardown")
