//! What a shard's executor is started with besides its name and CPU: the
//! knobs of `kairos.reactor.*` and `mesh.spin_before_park_us`. Each backend
//! reads the ones it has and ignores the rest.

use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    /// glommio: how long an idle executor polls its rings before it parks.
    pub spin_before_park: Duration,
    /// glommio and monoio on io_uring: submission-queue entries per ring.
    pub ring_depth: u32,
    /// monoio: drive sockets with epoll even where io_uring is available.
    pub force_epoll: bool,
}

impl Default for Tuning {
    /// The defaults of `kairos.reactor.*`, without the spin.
    fn default() -> Self {
        Tuning {
            spin_before_park: Duration::ZERO,
            ring_depth: 256,
            force_epoll: false,
        }
    }
}
