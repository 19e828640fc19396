//! The realtime envelope in JSON: `rtapi::Envelope::from_json`, what a
//! `/ws` session in the default format decodes from every text frame.

#![no_main]

use kairos_schema::rtapi::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::from_json(data);
});
