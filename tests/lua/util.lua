-- A helper module the tests' main module requires, as Nakama modules
-- share code.
local M = {}

function M.greet(name)
  return "hello " .. name
end

M.loaded_at_startup = true

return M
