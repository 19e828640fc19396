//! The code planus generates from `flatbuffers/realtime.fbs` at build time
//! (see `build.rs`). It is not rustfmt-formatted, which clippy's style
//! lints notice, hence the `allow`.
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/realtime_fbs.rs"));
