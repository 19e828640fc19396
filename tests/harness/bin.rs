//! `kairos-under-test`: Kairos built as a library, as a game's own server
//! would be (`ServerBuilder`), with the stock examples and two RPCs that
//! misbehave on purpose, for the isolation tests:
//!
//! * `test.panic` panics;
//! * `test.sleep` waits the number of milliseconds in its payload, then
//!   answers with it.

use std::time::Duration;

use kairos_shards::ServerBuilder;
use kairos_shards::modules::{Context, Error, RpcResult};

async fn panics(_ctx: Context, _payload: String) -> RpcResult {
    panic!("test.panic was called");
}

async fn sleeps(ctx: Context, payload: String) -> RpcResult {
    let ms: u64 = payload
        .trim()
        .parse()
        .map_err(|_| Error::invalid("the payload must be a number of milliseconds"))?;
    ctx.nk.sleep(Duration::from_millis(ms)).await;
    Ok(payload)
}

fn main() {
    let code = ServerBuilder::new()
        .with_examples()
        .rpc("test.panic", panics)
        .rpc("test.sleep", sleeps)
        .run();
    std::process::exit(code);
}
