//! A shard's Lua states. Each shard (thread) keeps its own pool, made
//! when it first runs Lua code: `runtime.lua_min_count` states at once,
//! more on demand up to `runtime.lua_max_count`; a call beyond that waits
//! for a state to come back. A state leaves the pool only for one call on
//! its own shard, and one that hit a limit or was dropped mid-call (a
//! deadline) is thrown away rather than reused.
//!
//! A pool holds the states of one program. When a reload replaces the
//! program, the first call on the new one drops the shard's pools of
//! older programs: their idle states go at once, and a state still leased
//! by a call that started on the old program goes when that call ends.
//! (A shard thread serves one node, so the generations it sees are one
//! node's.)

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use futures_channel::oneshot;
use kairos_core::error::ApiError;

use super::Program;
use super::state::Vm;
use crate::modules::Nk;

/// One shard's states of one program.
struct Pool {
    /// Held so that the program outlives its states' pool.
    program: Arc<Program>,
    idle: RefCell<Vec<Vm>>,
    /// States alive: idle or leased.
    made: Cell<usize>,
    /// Calls waiting for a state; `None` tells one it may make its own.
    waiters: RefCell<VecDeque<oneshot::Sender<Option<Vm>>>>,
    warmed: Cell<bool>,
}

thread_local! {
    static POOLS: RefCell<Vec<Rc<Pool>>> = const { RefCell::new(Vec::new()) };
}

/// This shard's pool of `program`. Pools of older programs are dropped;
/// a call still on an older program than the shard has seen (it started
/// before a reload) gets a pool of its own, dropped when it ends.
fn pool_of(program: &Arc<Program>) -> Rc<Pool> {
    POOLS.with(|p| {
        let mut pools = p.borrow_mut();
        if let Some(pool) = pools.iter().find(|p| Arc::ptr_eq(&p.program, program)) {
            return pool.clone();
        }
        let newest = pools.iter().map(|p| p.program.generation).max();
        let stale = newest.is_some_and(|g| g > program.generation);
        let pool = Rc::new(Pool {
            program: program.clone(),
            idle: RefCell::new(Vec::new()),
            made: Cell::new(0),
            waiters: RefCell::new(VecDeque::new()),
            // A stale call's pool makes just the state it needs.
            warmed: Cell::new(stale),
        });
        if stale {
            return pool;
        }
        pools.retain(|p| p.program.generation >= program.generation);
        pools.push(pool.clone());
        pool
    })
}

/// A state lent to one call; it goes back to its pool when dropped,
/// unless the call marked it spoiled or never finished.
pub struct Lease {
    vm: Option<Vm>,
    pool: Rc<Pool>,
    keep: bool,
}

impl Lease {
    pub fn vm(&self) -> &Vm {
        self.vm
            .as_ref()
            .expect("a lease holds its state until dropped")
    }

    /// The call ended and the state may serve another.
    pub fn done(&mut self, reusable: bool) {
        self.keep = reusable;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(vm) = self.vm.take() else { return };
        if self.keep {
            give_back(&self.pool, vm);
        } else {
            drop(vm);
            self.pool.made.set(self.pool.made.get() - 1);
            // A waiter may now make a state of its own.
            while let Some(w) = self.pool.waiters.borrow_mut().pop_front() {
                if w.send(None).is_ok() {
                    break;
                }
            }
        }
    }
}

fn give_back(pool: &Pool, mut vm: Vm) {
    loop {
        let waiter = pool.waiters.borrow_mut().pop_front();
        match waiter {
            Some(w) => match w.send(Some(vm)) {
                Ok(()) => return,
                Err(Some(back)) => vm = back,
                Err(None) => return,
            },
            None => {
                pool.idle.borrow_mut().push(vm);
                return;
            }
        }
    }
}

async fn make(program: &Arc<Program>, pool: &Rc<Pool>, nk: &Nk) -> Result<Vm, ApiError> {
    match Vm::new(program.clone(), Some(nk.clone())).await {
        Ok(vm) => Ok(vm),
        Err(e) => {
            pool.made.set(pool.made.get() - 1);
            tracing::error!(error = %e, "cannot make a Lua state");
            Err(ApiError::internal(e))
        }
    }
}

/// A state of this shard's pool for one call.
pub async fn lease(program: &Arc<Program>, nk: &Nk) -> Result<Lease, ApiError> {
    let pool = pool_of(program);
    if !pool.warmed.get() {
        pool.warmed.set(true);
        // The first states of this shard; the call takes one of them.
        let want = program.min_states.saturating_sub(pool.made.get());
        for _ in 0..want {
            pool.made.set(pool.made.get() + 1);
            let vm = make(program, &pool, nk).await?;
            pool.idle.borrow_mut().push(vm);
        }
    }
    loop {
        let idle = pool.idle.borrow_mut().pop();
        if let Some(vm) = idle {
            return Ok(Lease {
                vm: Some(vm),
                pool,
                keep: false,
            });
        }
        if pool.made.get() < program.max_states {
            pool.made.set(pool.made.get() + 1);
            let vm = make(program, &pool, nk).await?;
            return Ok(Lease {
                vm: Some(vm),
                pool,
                keep: false,
            });
        }
        let (tx, rx) = oneshot::channel();
        pool.waiters.borrow_mut().push_back(tx);
        match rx.await {
            Ok(Some(vm)) => {
                return Ok(Lease {
                    vm: Some(vm),
                    pool,
                    keep: false,
                });
            }
            // A state was thrown away: try again (and make one).
            Ok(None) | Err(_) => continue,
        }
    }
}
