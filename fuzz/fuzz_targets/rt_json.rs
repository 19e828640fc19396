//! The realtime envelope in JSON: `rtapi::Envelope::from_json`, what a
//! `/ws` session in the default format decodes from every text frame. Its
//! hand-written reader of `match_data_send` must decode exactly as serde
//! does, or leave the envelope to serde: every input is decoded both ways
//! and the answers, errors included, must be equal.

#![no_main]

use kairos_schema::rtapi::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(Envelope::from_json(data), Envelope::from_json_serde(data));
});
