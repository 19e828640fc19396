//! Flattening labels into documents, and evaluating queries on them, as
//! Nakama's bluge index does.

use kairos_core::query::{
    Bound, Clause, DateBound, Doc, Leaf, MAX_JSON_DEPTH, MAX_JSON_FIELDS, Occur, Query, Value,
    parse,
};
use serde_json::json;

fn kw(s: &str) -> Value {
    Value::Keyword(s.into())
}

fn fields(doc: &Doc) -> Vec<(&str, &Value)> {
    let mut f: Vec<(&str, &Value)> = doc.fields.iter().map(|(p, v)| (p.as_str(), v)).collect();
    f.sort_by(|a, b| a.0.cmp(b.0));
    f
}

/// The score of `query` on the document of `label`.
fn score(query: &str, label: &str) -> Option<f64> {
    let q = parse(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
    let compiled = q.compile().expect("a parsed query compiles");
    let s = compiled.score(&Doc::from_label(label));
    assert_eq!(s, q.score(&Doc::from_label(label)));
    s
}

fn hit(query: &str, label: &str) -> bool {
    score(query, label).is_some()
}

#[test]
fn flatten_nested_objects_arrays_bools_and_null() {
    let doc = Doc::from_label(
        r#"{"mode":"ranked","skill":52.5,"open":true,"closed":false,"none":null,
            "tags":["a",["b",{"c":1}]],"meta":{"region":{"name":"eu"},"n":-0}}"#,
    );
    assert_eq!(
        fields(&doc),
        vec![
            ("label.closed", &kw("F")),
            ("label.meta.n", &Value::Number(-0.0)),
            ("label.meta.region.name", &kw("eu")),
            ("label.mode", &kw("ranked")),
            ("label.open", &kw("T")),
            ("label.skill", &Value::Number(52.5)),
            ("label.tags", &kw("a")),
            ("label.tags", &kw("b")),
            ("label.tags.c", &Value::Number(1.0)),
        ]
    );
    // JSON's -0 stays negative, as Go's decoder reads it.
    let n = doc.values("label.meta.n").next();
    assert!(matches!(n, Some(Value::Number(z)) if z.is_sign_negative()));
}

#[test]
fn flatten_dates() {
    let doc = Doc::from_label(
        r#"{"a":"2024-02-29T13:05:09Z","b":"2024-02-29T13:05:09.5+01:00",
            "c":"2024-02-29T13:05:09","d":"2024-02-29 13:05:09","e":"2024-02-29",
            "f":"2024-02-30","g":"29/02/2024","h":"0001-01-01"}"#,
    );
    let t = 1_709_211_909_000_000_000i64;
    assert_eq!(
        fields(&doc),
        vec![
            ("label.a", &Value::Date(t)),
            ("label.b", &Value::Date(t - 3_600_000_000_000 + 500_000_000)),
            ("label.c", &Value::Date(t)),
            ("label.d", &Value::Date(t)),
            ("label.e", &Value::Date(1_709_164_800_000_000_000)),
            ("label.f", &kw("2024-02-30")),
            ("label.g", &kw("29/02/2024")),
            // Go's UnixNano wraps outside 1677-2262.
            (
                "label.h",
                &Value::Date((-62_135_596_800i64).wrapping_mul(1_000_000_000))
            ),
        ]
    );
}

#[test]
fn labels_that_are_not_objects_have_no_fields() {
    for label in [
        "",
        "ranked",
        "\"ranked\"",
        "[1,2]",
        "5",
        "null",
        "true",
        "{\"a\":",
        "{\"a\":1} x",
        "{\"a\":1e400}",
    ] {
        assert!(Doc::from_label(label).fields.is_empty(), "{label:?}");
    }
    assert!(!hit("label.a:1", "[{\"a\":1}]"));
    // The empty query matches nothing (listing treats "" as all).
    assert!(!hit("", r#"{"a":1}"#));
    assert!(hit("*", "not json"));
}

#[test]
fn from_json_and_pushes() {
    let doc = Doc::from_json("properties", &json!({"region": "eu", "rank": 7}));
    assert_eq!(
        fields(&doc),
        vec![
            ("properties.rank", &Value::Number(7.0)),
            ("properties.region", &kw("eu")),
        ]
    );
    // An empty root puts members at their bare keys; a scalar sits at the
    // root itself, and an array's elements too.
    let doc = Doc::from_json("", &json!([{"a": {"b": "x"}}, {"": 1}]));
    assert_eq!(
        fields(&doc),
        vec![("", &Value::Number(1.0)), ("a.b", &kw("x"))]
    );
    assert_eq!(
        fields(&Doc::from_json("x", &json!("s"))),
        vec![("x", &kw("s"))]
    );

    let mut doc = Doc::from_label(r#"{"mode":"ranked"}"#);
    doc.push_keyword("handler_name", "arena");
    doc.push_number("tick_rate", 10.0);
    doc.push_date("created", 5);
    let q = parse(
        "+label.mode:ranked +handler_name:arena +tick_rate:>=10 +created:<\"1970-01-01T00:00:01Z\"",
    )
    .unwrap();
    assert_eq!(q.score(&doc), Some(4.0));
    assert_eq!(doc.values("tick_rate").count(), 1);
}

#[test]
fn flatten_is_bounded() {
    // Deeper than the bound: left out, without blowing the stack.
    let mut deep = String::from("1");
    for _ in 0..MAX_JSON_DEPTH {
        deep = format!("[{deep}]");
    }
    assert_eq!(
        Doc::from_json("a", &serde_json::from_str(&deep).unwrap())
            .fields
            .len(),
        1
    );
    let deeper = format!("[{deep}]");
    assert!(
        Doc::from_json("a", &serde_json::from_str(&deeper).unwrap())
            .fields
            .is_empty()
    );
    // Objects count as levels too.
    let mut nested = String::from("1");
    for _ in 0..MAX_JSON_DEPTH {
        nested = format!("{{\"k\":{nested}}}");
    }
    let doc = Doc::from_label(&nested);
    assert_eq!(doc.fields.len(), 1);
    assert_eq!(doc.fields[0].0.matches('k').count(), MAX_JSON_DEPTH);
    // Too many values: the first MAX_JSON_FIELDS are kept.
    let many = format!("{{\"a\":[{}]}}", vec!["1"; MAX_JSON_FIELDS + 10].join(","));
    assert_eq!(Doc::from_label(&many).fields.len(), MAX_JSON_FIELDS);
    // A hostile label as deep as a 2048-byte label allows.
    let hostile = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
    assert!(Doc::from_label(&hostile).fields.is_empty());
}

const LABEL: &str = r#"{"mode":"ranked","skill":55,"region":"eu-west","open":true,
    "convo_ids":["abc","def"],"level":12,"name":"the arena","code":"007",
    "start":"2024-02-29T13:05:09Z","maps":["map1","map3"],"neg":-3.5}"#;

#[test]
fn terms_numbers_and_phrases() {
    assert!(hit("label.mode:ranked", LABEL));
    assert!(!hit("label.mode:Ranked", LABEL));
    assert!(!hit("label.mode:rank", LABEL));
    assert!(hit("label.convo_ids:abc", LABEL));
    assert!(hit("label.convo_ids:def", LABEL));
    assert!(hit("label.open:T", LABEL));
    assert!(!hit("label.open:true", LABEL));
    assert!(hit("label.region:eu-west", LABEL));
    assert!(hit(r#"label.name:"the arena""#, LABEL));
    assert!(!hit("label.name:arena", LABEL));
    // A number matches the number, or the keyword as written.
    assert!(hit("label.level:12", LABEL));
    assert!(hit("label.level:12.0", LABEL));
    assert!(hit("label.level:012", LABEL));
    assert!(hit("label.code:007", LABEL));
    assert!(!hit("label.code:7", LABEL));
    assert!(hit("label.neg:-3.5", LABEL));
    assert!(!hit("label.neg:3.5", LABEL));
    // bluge orders -0 below 0.
    assert!(!hit("label.z:0", r#"{"z":-0}"#));
    assert!(hit("label.z:-0", r#"{"z":-0}"#));
    assert!(hit("label.z:<0", r#"{"z":-0.0}"#));
    assert!(hit("label.z:>=0", r#"{"z":0}"#));
    // Paths are exact; unqualified terms have no field.
    assert!(!hit("mode:ranked", LABEL));
    assert!(!hit("ranked", LABEL));
    assert!(!hit("label:ranked", LABEL));
    // A date is not a keyword.
    assert!(!hit(r#"label.start:"2024-02-29T13:05:09Z""#, LABEL));
}

#[test]
fn ranges() {
    assert!(hit("label.skill:>=55", LABEL));
    assert!(!hit("label.skill:>55", LABEL));
    assert!(hit("label.skill:<=55", LABEL));
    assert!(!hit("label.skill:<55", LABEL));
    assert!(hit("label.skill:>-1", LABEL));
    assert!(hit("label.neg:<-3", LABEL));
    assert!(!hit("label.neg:>-3", LABEL));
    // A range reads numbers, not keywords.
    assert!(!hit("label.code:>1", LABEL));
    let start = r#"label.start:>="2024-02-29T13:05:09Z""#;
    assert!(hit(start, LABEL));
    assert!(!hit(r#"label.start:>"2024-02-29T13:05:09Z""#, LABEL));
    assert!(hit(
        r#"label.start:<"2024-02-29T14:05:09.000000001+01:00""#,
        LABEL
    ));
    assert!(!hit(r#"label.start:<"2024-02-29T14:05:09+01:00""#, LABEL));
    // Numbers are not dates.
    assert!(!hit(r#"label.skill:>"1970-01-01T00:00:00Z""#, LABEL));
    // Go's zero time is no bound: every date.
    assert!(hit(r#"label.start:>"0001-01-01T00:00:00Z""#, LABEL));

    let q = |min, max| {
        Query::Bool(vec![Clause {
            occur: Occur::Must,
            boost: 1.0,
            leaf: Leaf::NumberRange {
                field: "label.skill".into(),
                min,
                max,
            },
        }])
    };
    let doc = Doc::from_label(LABEL);
    assert_eq!(
        q(Bound::Exclusive(55.0), Bound::Exclusive(56.0)).score(&doc),
        None
    );
    assert_eq!(
        q(Bound::Inclusive(55.0), Bound::Inclusive(55.0)).score(&doc),
        Some(1.0)
    );
    assert_eq!(
        q(Bound::Inclusive(56.0), Bound::Inclusive(54.0)).score(&doc),
        None
    );
    assert_eq!(
        q(Bound::Exclusive(f64::MAX), Bound::Unbounded).score(&doc),
        None
    );
    let d = |min, max| {
        Query::Bool(vec![Clause {
            occur: Occur::Should,
            boost: 1.0,
            leaf: Leaf::DateRange {
                field: "label.start".into(),
                min,
                max,
            },
        }])
    };
    let t = 1_709_211_909_000_000_000i64;
    assert_eq!(
        d(DateBound::Exclusive(t - 1), DateBound::Exclusive(t + 1)).score(&doc),
        Some(1.0)
    );
    assert_eq!(
        d(DateBound::Exclusive(t), DateBound::Unbounded).score(&doc),
        None
    );
    assert_eq!(
        d(DateBound::Exclusive(i64::MAX), DateBound::Unbounded).score(&doc),
        None
    );
    assert_eq!(
        d(DateBound::Unbounded, DateBound::Exclusive(i64::MIN)).score(&doc),
        None
    );
    // At the end of the range an exclusive bound stays, as in bluge.
    let mut last = Doc::default();
    last.push_date("label.start", i64::MAX);
    let after = |v| d(DateBound::Exclusive(v), DateBound::Unbounded).score(&last);
    assert_eq!(after(i64::MAX), Some(1.0));
    assert_eq!(after(i64::MAX - 1), Some(1.0));
    assert_eq!(after(0), Some(1.0));
    let before = d(DateBound::Unbounded, DateBound::Exclusive(i64::MAX));
    assert_eq!(before.score(&last), None);
}

#[test]
fn patterns_and_fuzzy() {
    assert!(hit("label.mode:rank*", LABEL));
    assert!(hit("label.mode:r?nked", LABEL));
    assert!(!hit("label.mode:ank*", LABEL));
    assert!(hit("label.mode:*", LABEL));
    assert!(!hit("label.skill:*", LABEL));
    assert!(hit("label.name:the\\ *", LABEL));
    assert!(hit("label.mode:/r.*d/", LABEL));
    assert!(!hit("label.mode:/ank/", LABEL));
    assert!(hit("label.maps:/.*(map3|some_map_foo).*/", LABEL));
    assert!(!hit("label.maps:/.*(map2|map4).*/", LABEL));
    assert!(hit(r"label.region:/eu\-w\w+/", LABEL));
    assert!(hit("label.mode:rankd~", LABEL));
    assert!(hit("label.mode:rnaked~", LABEL));
    assert!(!hit("label.mode:rnakde~", LABEL));
    assert!(hit("label.mode:rnakde~2", LABEL));
    assert!(!hit("label.mode:rankd~0", LABEL));
    assert!(hit("label.mode:ranked~0", LABEL));
    // Fuzzy and pattern leaves read keywords only.
    // (`12~` does not parse: a number takes no fuzziness.)
    assert!(!hit("label.level:x12~1", LABEL));
    assert!(hit("label.code:x007~1", LABEL));
    assert!(!hit("label.level:1*", LABEL));
}

#[test]
fn must_should_must_not() {
    // Nakama's documented example.
    let q = "+label.mode:ranked +label.skill:>=50 -label.region:eu";
    assert_eq!(
        score(q, r#"{"mode":"ranked","skill":50,"region":"na"}"#),
        Some(2.0)
    );
    assert_eq!(
        score(q, r#"{"mode":"ranked","skill":50,"region":"eu"}"#),
        None
    );
    assert_eq!(score(q, r#"{"mode":"ranked","skill":49}"#), None);
    assert_eq!(score(q, r#"{"skill":60}"#), None);
    // Should clauses: at least one without a Must, scores add up.
    let q = "label.region:eu^10 label.region:asia^5 label.mode:ranked";
    assert_eq!(score(q, r#"{"region":"eu","mode":"ranked"}"#), Some(11.0));
    assert_eq!(score(q, r#"{"region":"asia"}"#), Some(5.0));
    assert_eq!(score(q, r#"{"region":["asia","eu"]}"#), Some(15.0));
    assert_eq!(score(q, r#"{"region":"na"}"#), None);
    // With a Must, Should clauses are optional and add to the score.
    let q = "+label.mode:ranked label.level:>=10^2";
    assert_eq!(score(q, r#"{"mode":"ranked","level":12}"#), Some(3.0));
    assert_eq!(score(q, r#"{"mode":"ranked","level":2}"#), Some(1.0));
    assert_eq!(score(q, r#"{"level":12}"#), None);
    // Only MustNot: every other document, score 1.
    let q = "-label.region:eu -label.mode:casual";
    assert_eq!(score(q, r#"{"region":"na"}"#), Some(1.0));
    assert_eq!(score(q, "{}"), Some(1.0));
    assert_eq!(score(q, "not json"), Some(1.0));
    assert_eq!(score(q, r#"{"region":["na","eu"]}"#), None);
    // MustNot with Should: a Should must still match.
    let q = "-label.region:eu label.mode:ranked";
    assert_eq!(score(q, r#"{"mode":"ranked"}"#), Some(1.0));
    assert_eq!(score(q, r#"{"mode":"casual"}"#), None);
    // Must with MustNot only.
    assert_eq!(score("+label.a:1^3 -label.b:1", r#"{"a":1}"#), Some(3.0));
    // Boosts below 1 and negative ones are summed as written.
    assert_eq!(
        score("label.a:1^0.5 label.b:1^-2", r#"{"a":1,"b":1}"#),
        Some(-1.5)
    );
    // Array membership: a Must on one element, a MustNot on another.
    let q = "+label.convo_ids:abc -label.convo_ids:xyz";
    assert!(hit(q, LABEL));
    assert!(!hit(q, r#"{"convo_ids":["abc","xyz"]}"#));
}

#[test]
fn all_and_empty() {
    assert_eq!(Query::All.score(&Doc::default()), Some(1.0));
    assert_eq!(Query::Bool(vec![]).score(&Doc::from_label(LABEL)), None);
    // A hand-built query with a bad pattern does not compile, and matches
    // nothing.
    let bad = Query::Bool(vec![Clause {
        occur: Occur::MustNot,
        boost: 1.0,
        leaf: Leaf::Regex {
            field: "label.mode".into(),
            pattern: "(".into(),
        },
    }]);
    assert!(bad.compile().is_err());
    assert_eq!(bad.score(&Doc::from_label(LABEL)), None);
}

/// Every parsed query compiles and evaluates without a panic on a few
/// documents, over random mutations of real queries.
#[test]
fn evaluation_never_panics() {
    let seeds = [
        "+label.mode:ranked +label.skill:>=50 -label.region:eu",
        "label.maps:/.*(map3|x).*/ label.mode:r?nk* label.mode:rnaked~2 ^2",
        r#"label.start:>"2024-02-29T13:05:09Z" label.neg:<=-3 label.code:007 -label.open:F"#,
    ];
    let alphabet: Vec<char> = "ab01 .:+-<>=^~*?/\\\"()|lse".chars().collect();
    let docs = [
        Doc::from_label(LABEL),
        Doc::default(),
        Doc::from_label(r#"{"mode":["","ranked",1,true,null,{"x":"2024-02-29"}]}"#),
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut evaluated = 0;
    for _ in 0..3000 {
        let mut chars: Vec<char> = seeds[next(seeds.len())].chars().collect();
        for _ in 0..1 + next(3) {
            let at = next(chars.len() + 1);
            let c = alphabet[next(alphabet.len())];
            if at < chars.len() && next(2) == 0 {
                chars[at] = c;
            } else {
                chars.insert(at, c);
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(q) = parse(&text) {
            let compiled = q.compile().unwrap_or_else(|e| panic!("{text:?}: {e}"));
            for doc in &docs {
                if let Some(s) = compiled.score(doc) {
                    assert!(s.is_finite());
                }
            }
            evaluated += 1;
        }
    }
    assert!(evaluated > 300, "only {evaluated} parsed");
}
