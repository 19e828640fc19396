//! Nakama's query string (`kairos_core::query`): `parse`, then what match
//! listing does with a query: `compile` once, and `score` on the document
//! of a match label (`Doc::from_label`).
//!
//! Properties: a query that parses compiles (parse refuses every pattern
//! that would not), has at most `MAX_CLAUSES` clauses, and scores any
//! document with a finite score or none, the same through `Query::score`
//! as through `Compiled::score`; a label gives at most `MAX_JSON_FIELDS`
//! fields.
//!
//! Input: `query \n label` (without a newline, the whole input is the
//! query and the label is a fixed one).

#![no_main]

use kairos_core::query::{self, Doc, MAX_CLAUSES, MAX_JSON_FIELDS, Query};
use libfuzzer_sys::fuzz_target;

const LABEL: &str = r#"{"mode":"ranked","skill":55,"region":"eu-west","open":true,"convo_ids":["abc","def"],"start":"2024-02-29T13:05:09Z","neg":-3.5}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (query_text, label) = text.split_once('\n').unwrap_or((text, LABEL));
    let doc = Doc::from_label(label);
    assert!(doc.fields.len() <= MAX_JSON_FIELDS);
    let Ok(query) = query::parse(query_text) else {
        return;
    };
    if let Query::Bool(clauses) = &query {
        assert!(clauses.len() <= MAX_CLAUSES);
    }
    let compiled = query.compile().expect("a parsed query compiles");
    for doc in [&doc, &Doc::default()] {
        let score = compiled.score(doc);
        assert!(score.is_none_or(f64::is_finite));
        assert_eq!(score, query.score(doc));
    }
});
