//! What one Lua state may spend: instructions per call (an instruction
//! count hook every [`CHECK_EVERY`] instructions), and memory (mlua's
//! allocator limit). Both come from `kairos.runtime.lua_*`.

use std::cell::Cell;
use std::rc::Rc;

use mlua::{HookTriggers, Lua, VmState};

/// How often the hook counts, in instructions.
pub const CHECK_EVERY: u32 = 1000;

/// The message of the error that stops a call past its instructions.
pub const INSTRUCTIONS_EXCEEDED: &str = "Lua instruction limit exceeded";

/// Limits of one state.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Instructions one call may run; 0: no limit.
    pub instructions: u64,
    /// Bytes the state may hold; 0: no limit.
    pub memory: usize,
}

/// The instructions the current call has left, shared with the hook.
#[derive(Default)]
pub struct Budget {
    used: Cell<u64>,
    limit: Cell<u64>,
    /// Set when the hook stopped the call.
    tripped: Cell<bool>,
}

impl Budget {
    /// Starts a call: it may run `limit` instructions (0: no limit).
    pub fn start(&self, limit: u64) {
        self.used.set(0);
        self.limit.set(limit);
        self.tripped.set(false);
    }

    /// Whether the hook stopped the last call.
    pub fn tripped(&self) -> bool {
        self.tripped.get()
    }
}

/// Installs both limits on `lua`; the returned budget is started by each
/// call.
pub fn install(lua: &Lua, limits: Limits) -> mlua::Result<Rc<Budget>> {
    let budget = Rc::new(Budget::default());
    if limits.memory > 0 {
        lua.set_memory_limit(limits.memory)?;
    }
    if limits.instructions > 0 {
        let b = budget.clone();
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(CHECK_EVERY),
            move |_lua, _debug| {
                let used = b.used.get() + u64::from(CHECK_EVERY);
                b.used.set(used);
                let limit = b.limit.get();
                if limit > 0 && used > limit {
                    b.tripped.set(true);
                    return Err(mlua::Error::RuntimeError(INSTRUCTIONS_EXCEEDED.into()));
                }
                Ok(VmState::Continue)
            },
        )?;
    }
    Ok(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_loop_is_stopped_and_the_state_goes_on() {
        let lua = Lua::new();
        let budget = install(
            &lua,
            Limits {
                instructions: 100_000,
                memory: 0,
            },
        )
        .unwrap();
        budget.start(100_000);
        let e = lua.load("while true do end").exec().unwrap_err();
        assert!(e.to_string().contains(INSTRUCTIONS_EXCEEDED), "{e}");
        assert!(budget.tripped());
        budget.start(100_000);
        let n: i64 = lua
            .load("local s = 0 for i = 1, 100 do s = s + i end return s")
            .eval()
            .unwrap();
        assert_eq!(n, 5050);
        assert!(!budget.tripped());
    }

    #[test]
    fn memory_past_the_limit_is_a_lua_error() {
        let lua = Lua::new();
        install(
            &lua,
            Limits {
                instructions: 0,
                memory: 4 << 20,
            },
        )
        .unwrap();
        let e = lua
            .load("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 64) .. i end")
            .exec()
            .unwrap_err();
        assert!(matches!(e, mlua::Error::MemoryError(_)), "{e:?}");
        // Lua 5.1 has no emergency collection: a state at its cap may fail
        // even to collect, which is why the pool throws such a state away.
        assert!(lua.used_memory() <= 4 << 20);
    }
}
