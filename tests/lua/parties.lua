-- Lists parties from Lua: the payload is {limit, open, show_hidden,
-- query, cursor}; the answer {parties, cursor} as nk.party_list gives
-- them, or {error} when the call raises.
local nk = require("nakama")

nk.register_rpc(function(context, payload)
  local a = nk.json_decode(payload)
  local ok, parties, cursor = pcall(nk.party_list, a.limit, a.open, a.show_hidden, a.query, a.cursor)
  if not ok then
    return nk.json_encode({ error = parties })
  end
  return nk.json_encode({ parties = parties, cursor = cursor })
end, "lua.party_list")
