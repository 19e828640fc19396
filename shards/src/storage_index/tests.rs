//! The index alone: documents, query, order, paging, eviction, load.

use kairos_core::query::parse;
use kairos_core::storage::StorageObject;
use uuid::Uuid;

use super::index::Index;
use crate::modules::storage_index::StorageIndexDef;

fn def(max: usize, index_only: bool) -> StorageIndexDef {
    StorageIndexDef {
        name: "i".into(),
        collection: "c".into(),
        key: String::new(),
        fields: vec!["score".into(), "name".into()],
        sortable_fields: vec!["score".into()],
        max_entries: max,
        index_only,
    }
}

fn obj(key: &str, value: &str, t: i64) -> StorageObject {
    StorageObject {
        collection: "c".into(),
        key: key.into(),
        user_id: Uuid::nil(),
        value: value.into(),
        version: format!("v{t}"),
        permission_read: 2,
        permission_write: 1,
        create_time: t,
        update_time: t,
    }
}

fn keys(idx: &Index, q: &str, order: &[&str], offset: usize, count: usize) -> Vec<String> {
    let c = parse(q).unwrap().compile().unwrap();
    let order: Vec<String> = order.iter().map(|s| s.to_string()).collect();
    idx.list(&c, &order, offset, count)
        .into_iter()
        .map(|h| h.key)
        .collect()
}

#[test]
fn query_order_and_paging() {
    let mut idx = Index::new(def(100, false));
    idx.load(Vec::new());
    for (k, s) in [("a", 5), ("b", 1), ("c", 9), ("d", 3)] {
        idx.put(obj(
            k,
            &format!(r#"{{"score":{s},"name":"n{k}","other":1}}"#),
            10,
        ));
    }
    assert_eq!(
        keys(&idx, "+value.score:>=3", &["value.score"], 0, 10),
        ["d", "a", "c"]
    );
    assert_eq!(keys(&idx, "*", &["-value.score"], 0, 2), ["c", "a"]);
    assert_eq!(keys(&idx, "*", &["-value.score"], 2, 2), ["d", "b"]);
    assert_eq!(
        keys(&idx, "*", &["-value.score"], 4, 2),
        Vec::<String>::new()
    );
    // Only listed fields are indexed.
    assert!(keys(&idx, "+value.other:1", &[], 0, 10).is_empty());
    assert_eq!(keys(&idx, "+value.name:nb", &[], 0, 10), ["b"]);
    // The fixed fields.
    assert_eq!(keys(&idx, "+key:c +read:2", &[], 0, 10), ["c"]);
    // A value holding none of the fields drops the object.
    idx.put(obj("c", r#"{"other":2}"#, 11));
    assert_eq!(keys(&idx, "*", &["value.score"], 0, 10), ["b", "d", "a"]);
}

#[test]
fn eviction_past_ten_percent_drops_the_oldest() {
    let mut idx = Index::new(def(10, false));
    idx.load(Vec::new());
    for t in 0..11 {
        idx.put(obj(&format!("k{t:02}"), r#"{"score":1}"#, t));
    }
    // 11 is not past 110% of 10.
    assert_eq!(keys(&idx, "*", &[], 0, 100).len(), 11);
    idx.put(obj("k11", r#"{"score":1}"#, 11));
    let left = keys(&idx, "*", &["update_time"], 0, 100);
    assert_eq!(left.len(), 10);
    assert_eq!(left[0], "k02");
}

#[test]
fn load_never_overwrites_what_changed_meanwhile() {
    let mut idx = Index::new(def(100, true));
    idx.put(obj("a", r#"{"score":7}"#, 20));
    idx.remove(&("c".into(), "b".into(), Uuid::nil()));
    let gone = Uuid::new_v4();
    idx.remove_user(gone);
    let mut theirs = obj("y", r#"{"score":1}"#, 5);
    theirs.user_id = gone;
    idx.load(vec![
        obj("a", r#"{"score":1}"#, 5),
        obj("b", r#"{"score":1}"#, 5),
        theirs,
        obj("z", r#"{"score":1}"#, 5),
    ]);
    let c = parse("*").unwrap().compile().unwrap();
    let hits = idx.list(&c, &["key".to_string()], 0, 10);
    let got: Vec<(String, String)> = hits.into_iter().map(|h| (h.key, h.value)).collect();
    assert_eq!(
        got,
        [
            ("a".to_string(), r#"{"score":7}"#.to_string()),
            ("z".to_string(), r#"{"score":1}"#.to_string())
        ]
    );
}

/// The cost of a listing over a full index (`MAX_ENTRIES` objects): the
/// query runs on every entry and the matches are sorted. Timed, not
/// asserted; run by hand:
/// `cargo test -p kairos-shards storage_index::tests::full_index_listing_time -- --ignored --nocapture`.
#[test]
#[ignore = "a timing, run by hand"]
fn full_index_listing_time() {
    use crate::modules::storage_index::MAX_ENTRIES;
    let mut idx = Index::new(def(MAX_ENTRIES, false));
    idx.load(Vec::new());
    for i in 0..MAX_ENTRIES {
        idx.put(obj(
            &format!("k{i}"),
            &format!(r#"{{"score":{},"name":"n{}"}}"#, i % 1000, i % 7),
            i as i64,
        ));
    }
    for (q, order) in [
        ("*", vec![]),
        ("*", vec!["-value.score".to_string()]),
        (
            "+value.score:>=500 +value.name:n3",
            vec!["value.score".to_string()],
        ),
    ] {
        let c = parse(q).unwrap().compile().unwrap();
        let runs = 5;
        let started = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..runs {
            n += idx.list(&c, &order, 0, 101).len();
        }
        let each = started.elapsed() / runs;
        println!(
            "{MAX_ENTRIES} entries, query {q:?}, order {order:?}: {each:?} per listing ({} hits)",
            n / runs as usize
        );
    }
}
