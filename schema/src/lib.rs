//! The wire messages Kairos speaks, as Rust types.
//!
//! * [`api`]: Nakama's REST messages (`api.proto`) with the protojson mapping
//!   grpc-gateway uses: snake_case names, int64 as strings, defaults omitted,
//!   both snake_case and lowerCamelCase accepted on input, unknown fields
//!   ignored.
//! * [`rtapi`]: Nakama's realtime envelope (`realtime.proto`) in JSON, where
//!   unknown fields are refused.
//!
//! This crate only describes and (de)serializes messages; it holds no logic.

pub mod api;
pub mod json;
pub mod rtapi;
