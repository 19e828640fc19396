//! The WebSocket handshake: `validate_upgrade` on the headers of an upgrade
//! request (as `/ws`'s upgrade reads them), and the client's
//! `verify_accept` of the server's answer.
//!
//! Input: lines `method \n upgrade \n connection \n version \n key \n
//! accept`; a missing line is an absent header.

#![no_main]

use kairos_net::ws::{UpgradeHeaders, accept_key, validate_upgrade, verify_accept};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let method = lines.next().unwrap_or("");
    let headers = UpgradeHeaders {
        method,
        upgrade: lines.next(),
        connection: lines.next(),
        version: lines.next(),
        key: lines.next(),
    };
    if let Ok(accept) = validate_upgrade(&headers) {
        let key = headers.key.expect("accepted with a key").trim();
        assert_eq!(accept, accept_key(key));
        assert!(verify_accept(key, &accept));
    } else {
        let _ = validate_upgrade(&headers).map_err(|e| e.rejection_response());
    }
    if let (Some(key), Some(accept)) = (headers.key, lines.next()) {
        let _ = verify_accept(key, accept);
    }
});
