-- Kairos's Lua test RPC for sessions moving to their match's shard
-- (tests/tests/session_moves.rs): a storm of notifications to one user,
-- numbered, sent while that user's socket moves.
local nk = require("nakama")

-- Sends `count` notifications (not stored) to `user_id`, numbered from 1
-- in their content.
nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  for i = 1, p.count do
    nk.notification_send(p.user_id, "storm", { n = i }, 200, nil, false)
  end
  return nk.json_encode({ sent = p.count })
end, "moves.notify")
