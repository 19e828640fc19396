//! Pinning a shard thread to its core, for the runtimes that do not do it
//! themselves (tokio, monoio; glommio places its executors).

/// Pins the calling thread to one CPU; a failure (a CPU outside the
/// process's mask) leaves it unpinned, as glommio's placement would refuse.
#[cfg_attr(feature = "rt-glommio", allow(dead_code))]
pub(super) fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bitmask on the stack; sched_setaffinity
    // only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            tracing::warn!(cpu, "cannot pin shard thread");
        }
    }
}
