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

-- The limits' cost (BENCHMARKS "What the Lua limits cost"): `bench.spin`
-- runs 20,000 iterations of arithmetic, what the instruction count
-- watches; `bench.churn` allocates (a table of 1,000 fresh strings),
-- what the memory limit's allocator watches. Both answer the payload.
nk.register_rpc(function(context, payload)
  local x = 0
  for i = 1, 20000 do
    x = (x + i * 7) % 1000003
  end
  return payload
end, "bench.spin")

nk.register_rpc(function(context, payload)
  local t = {}
  for i = 1, 1000 do
    t[i] = "item-" .. i .. "-" .. payload
  end
  return payload
end, "bench.churn")
