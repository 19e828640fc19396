//! criterion: session token signing and verification (HS256).

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use kairos_core::config::SessionConfig;
use kairos_core::session::SessionIssuer;
use uuid::Uuid;

fn tokens(c: &mut Criterion) {
    let issuer = SessionIssuer::new(&SessionConfig::default());
    let uid = Uuid::new_v4();
    let now = 1_700_000_000;
    c.bench_function("jwt_issue_session_and_refresh", |b| {
        b.iter(|| issuer.issue(uid, "player_one", BTreeMap::new(), now));
    });
    let s = issuer.issue(uid, "player_one", BTreeMap::new(), now);
    c.bench_function("jwt_verify_session", |b| {
        b.iter(|| issuer.verify_session(&s.token, now).expect("valid"));
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
