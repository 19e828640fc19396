-- The Lua bench's RPCs: `bench.create_arena` creates an `arena` match
-- (benches/lua/arena.lua) with the payload as its parameters and answers
-- {"match_id": id}, as `example.create_arena` does for the Rust arena.
local nk = require("nakama")

nk.register_rpc(function(context, payload)
  local params = {}
  if payload ~= nil and payload ~= "" then
    params = nk.json_decode(payload)
  end
  local id = nk.match_create("arena", params)
  return nk.json_encode({ match_id = id })
end, "bench.create_arena")
