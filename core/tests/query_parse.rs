//! The query-string parser against bluge's grammar as Nakama calls it.

use kairos_core::query::{
    Bound, Clause, DateBound, Leaf, MAX_CLAUSES, MAX_QUERY_BYTES, Occur, Query, parse,
};

fn clauses(text: &str) -> Vec<Clause> {
    match parse(text) {
        Ok(Query::Bool(c)) => c,
        other => panic!("{text:?} gave {other:?}"),
    }
}

fn one(text: &str) -> Clause {
    let mut c = clauses(text);
    assert_eq!(c.len(), 1, "{text:?} gave {c:?}");
    c.remove(0)
}

fn leaf(text: &str) -> Leaf {
    one(text).leaf
}

fn term(field: &str, value: &str) -> Leaf {
    Leaf::Term {
        field: field.into(),
        value: value.into(),
    }
}

fn number(field: &str, text: &str, value: f64) -> Leaf {
    Leaf::Number {
        field: field.into(),
        text: text.into(),
        value,
    }
}

fn range(field: &str, min: Bound, max: Bound) -> Leaf {
    Leaf::NumberRange {
        field: field.into(),
        min,
        max,
    }
}

fn dates(field: &str, min: DateBound, max: DateBound) -> Leaf {
    Leaf::DateRange {
        field: field.into(),
        min,
        max,
    }
}

fn clause(occur: Occur, boost: f64, leaf: Leaf) -> Clause {
    Clause { occur, boost, leaf }
}

/// The error's message, checking that it has one and a position inside
/// the query (or just past it).
fn error(text: &str) -> String {
    let e = parse(text).expect_err(text);
    assert!(!e.message.is_empty());
    assert!(e.position <= text.len().max(MAX_QUERY_BYTES), "{e:?}");
    assert!(e.to_string().contains(&e.message));
    e.message
}

#[test]
fn star_alone_is_all_and_empty_is_nothing() {
    assert_eq!(parse("*"), Ok(Query::All));
    assert_eq!(parse(""), Ok(Query::Bool(vec![])));
    // Only the exact "*" is Nakama's match-all: with a space it is a
    // wildcard on the empty field.
    assert_eq!(
        leaf(" *"),
        Leaf::Wildcard {
            field: String::new(),
            pattern: "*".into()
        }
    );
    // bluge's grammar needs at least one clause.
    assert!(error("   ").contains("syntax error"));
}

#[test]
fn terms_phrases_and_fields() {
    assert_eq!(leaf("label.mode:ranked"), term("label.mode", "ranked"));
    assert_eq!(leaf("label.mode: ranked"), term("label.mode", "ranked"));
    assert_eq!(leaf("label.mode :ranked"), term("label.mode", "ranked"));
    assert_eq!(leaf(r#"label.name:"a b  c""#), term("label.name", "a b  c"));
    assert_eq!(leaf(r#"label.name:"""#), term("label.name", ""));
    assert_eq!(
        leaf("label.region:eu-west"),
        term("label.region", "eu-west")
    );
    assert_eq!(leaf("label.x:a+b=c>d<e"), term("label.x", "a+b=c>d<e"));
    // A phrase is not a pattern.
    assert_eq!(leaf(r#"f:"/a*/""#), term("f", "/a*/"));
    // Unqualified: the empty field.
    assert_eq!(leaf("ranked"), term("", "ranked"));
    assert_eq!(leaf(r#""a b""#), term("", "a b"));
    assert_eq!(leaf("5"), number("", "5", 5.0));
    // Clauses are separated by spaces; a tab is part of a word.
    assert_eq!(
        clauses("a:b c:d"),
        vec![
            clause(Occur::Should, 1.0, term("a", "b")),
            clause(Occur::Should, 1.0, term("c", "d"))
        ]
    );
    // `b\tc` is one word, which a second colon follows.
    assert!(error("a:b\tc:d").contains("syntax error"));
}

#[test]
fn escapes() {
    assert_eq!(leaf(r"label\:x:y"), term("label:x", "y"));
    assert_eq!(leaf(r"f:a\ b"), term("f", "a b"));
    assert_eq!(leaf(r"f:\+1"), term("f", "+1"));
    assert_eq!(leaf(r"f:\-1"), term("f", "-1"));
    assert_eq!(leaf(r"f:a\^b\~c"), term("f", "a^b~c"));
    assert_eq!(leaf(r"f:a\\b"), term("f", r"a\b"));
    // Escaping another character keeps the backslash.
    assert_eq!(leaf(r"f:a\nb"), term("f", r"a\nb"));
    assert_eq!(leaf(r"f:\5"), term("f", r"\5"));
    assert_eq!(
        leaf(r#"f:"say \"hi\" \\ \t""#),
        term("f", r#"say "hi" \ \t"#)
    );
    // An escaped star is still a wildcard: bluge unescapes first.
    assert_eq!(
        leaf(r"f:a\*"),
        Leaf::Wildcard {
            field: "f".into(),
            pattern: "a*".into()
        }
    );
    // A backslash at the end is dropped.
    assert_eq!(leaf("f:a\\"), term("f", "a"));
}

#[test]
fn numbers() {
    assert_eq!(leaf("label.level:10"), number("label.level", "10", 10.0));
    assert_eq!(leaf("label.level:007"), number("label.level", "007", 7.0));
    assert_eq!(leaf("label.level:1.5"), number("label.level", "1.5", 1.5));
    assert_eq!(leaf("label.level:1."), number("label.level", "1.", 1.0));
    assert_eq!(leaf("label.level:-3"), number("label.level", "-3", -3.0));
    assert_eq!(leaf("label.level:- 3"), number("label.level", "-3", -3.0));
    assert_eq!(
        leaf("label.level:-0.25"),
        number("label.level", "-0.25", -0.25)
    );
    // Not numbers to the lexer: terms.
    assert_eq!(leaf("f:1e5"), term("f", "1e5"));
    assert_eq!(leaf("f:1.2.3"), term("f", "1.2.3"));
    assert_eq!(leaf("f:.5"), term("f", ".5"));
    assert_eq!(leaf("f:5a"), term("f", "5a"));
    // A leading minus before a clause is the prefix.
    assert_eq!(one("-5"), clause(Occur::MustNot, 1.0, number("", "5", 5.0)));
}

#[test]
fn ranges() {
    let n = |v| Bound::Inclusive(v);
    let x = |v| Bound::Exclusive(v);
    let u = Bound::Unbounded;
    assert_eq!(leaf("label.skill:>50"), range("label.skill", x(50.0), u));
    assert_eq!(leaf("label.skill:>=50"), range("label.skill", n(50.0), u));
    assert_eq!(leaf("label.skill:<50"), range("label.skill", u, x(50.0)));
    assert_eq!(leaf("label.skill:<=50"), range("label.skill", u, n(50.0)));
    assert_eq!(leaf("label.skill:>-2.5"), range("label.skill", x(-2.5), u));
    assert_eq!(leaf("label.skill:<=-7"), range("label.skill", u, n(-7.0)));
    assert_eq!(
        leaf("label.skill: > = - 7"),
        range("label.skill", n(-7.0), u)
    );
}

#[test]
fn date_ranges() {
    let t = 1_709_211_909_000_000_000i64;
    let u = DateBound::Unbounded;
    assert_eq!(
        leaf(r#"label.start:>"2024-02-29T13:05:09Z""#),
        dates("label.start", DateBound::Exclusive(t), u)
    );
    assert_eq!(
        leaf(r#"label.start:>="2024-02-29T14:05:09+01:00""#),
        dates("label.start", DateBound::Inclusive(t), u)
    );
    assert_eq!(
        leaf(r#"label.start:<"2024-02-29T13:05:09.5Z""#),
        dates("label.start", u, DateBound::Exclusive(t + 500_000_000))
    );
    assert_eq!(
        leaf(r#"label.start:<="1969-12-31T23:59:59Z""#),
        dates("label.start", u, DateBound::Inclusive(-1_000_000_000))
    );
    // Go's zero time is bluge's open bound.
    assert_eq!(leaf(r#"f:>"0001-01-01T00:00:00Z""#), dates("f", u, u));
    assert!(error(r#"f:>"2024-02-29""#).contains("invalid time"));
    assert!(error(r#"f:>"2024-02-30T00:00:00Z""#).contains("invalid time"));
    assert!(error(r#"f:<"3000-01-01T00:00:00Z""#).contains("date range"));
    assert!(error(r#"f:<"1600-01-01T00:00:00Z""#).contains("date range"));
    // A quoted date without a comparison is a term.
    assert_eq!(
        leaf(r#"f:"2024-02-29T13:05:09Z""#),
        term("f", "2024-02-29T13:05:09Z")
    );
}

#[test]
fn regexps_and_wildcards() {
    assert_eq!(
        leaf("f:/ab.*/"),
        Leaf::Regex {
            field: "f".into(),
            pattern: "ab.*".into()
        }
    );
    // Nakama's matchmaker tests: escaped dashes reach the regexp as dashes.
    assert_eq!(
        leaf(r"-properties.blocked:/.*4bd6667a\-2659\-4888\-b245\-e13690ff4a9b.*/"),
        Leaf::Regex {
            field: "properties.blocked".into(),
            pattern: ".*4bd6667a-2659-4888-b245-e13690ff4a9b.*".into()
        }
    );
    assert_eq!(
        leaf(r"f:/a\ b\.c/"),
        Leaf::Regex {
            field: "f".into(),
            pattern: r"a b\.c".into()
        }
    );
    assert_eq!(
        leaf("f://"),
        Leaf::Regex {
            field: "f".into(),
            pattern: String::new()
        }
    );
    assert_eq!(
        leaf("/x/"),
        Leaf::Regex {
            field: String::new(),
            pattern: "x".into()
        }
    );
    assert_eq!(
        leaf("f:ab*c?"),
        Leaf::Wildcard {
            field: "f".into(),
            pattern: "ab*c?".into()
        }
    );
    // A regexp wins over a wildcard.
    assert_eq!(
        leaf("f:/a?/"),
        Leaf::Regex {
            field: "f".into(),
            pattern: "a?".into()
        }
    );
    assert!(error("f:/").contains("regexp"));
    assert!(error("f:/[/").contains("regexp"));
    // `^` ends a word: the regexp is `/`, then a boost.
    assert!(error("f:/^a/").contains("regexp"));
    assert!(error(r"f:/\^a/").contains("assertion"));
    assert!(error("f:/a$/").contains("assertion"));
    assert!(error(r"f:/\bx/").contains("boundar"));
    assert!(error("f:/a*?/").contains("lazy"));
}

#[test]
fn fuzzy() {
    let fz = |field: &str, value: &str, distance| Leaf::Fuzzy {
        field: field.into(),
        value: value.into(),
        distance,
    };
    assert_eq!(leaf("f:ranked~"), fz("f", "ranked", 1));
    assert_eq!(leaf("f:ranked~2"), fz("f", "ranked", 2));
    assert_eq!(leaf("f:ranked~0"), fz("f", "ranked", 0));
    assert_eq!(leaf("f:ranked~1.9"), fz("f", "ranked", 1));
    assert_eq!(leaf("f:ranked~-0.5"), fz("f", "ranked", 0));
    assert_eq!(leaf("ranked~"), fz("", "ranked", 1));
    // The value of a fuzzy query is literal, even with pattern characters.
    assert_eq!(leaf("f:ab*~1"), fz("f", "ab*", 1));
    assert_eq!(leaf("f:/a/~1"), fz("f", "/a/", 1));
    // A fuzziness runs to a space: a boost needs one before it.
    assert_eq!(
        one("f:ab~1 ^3"),
        clause(Occur::Should, 3.0, fz("f", "ab", 1))
    );
    assert!(error("f:ab~1^3").contains("fuzziness"));
    assert!(error("f:ab~3").contains("exceeds max"));
    assert!(error("f:ab~-1").contains("negative"));
    assert!(error("f:ab~x").contains("fuzziness"));
    assert!(error("f:ab~inf").contains("fuzziness"));
    // Only strings take a fuzziness.
    assert!(error("f:5~").contains("syntax error"));
    assert!(error(r#"f:"a b"~"#).contains("syntax error"));
}

#[test]
fn prefixes_and_boosts() {
    assert_eq!(
        clauses("+a:1 -b:c d:e"),
        vec![
            clause(Occur::Must, 1.0, number("a", "1", 1.0)),
            clause(Occur::MustNot, 1.0, term("b", "c")),
            clause(Occur::Should, 1.0, term("d", "e")),
        ]
    );
    assert_eq!(one("+ a:b"), clause(Occur::Must, 1.0, term("a", "b")));
    assert_eq!(one("a:b^2"), clause(Occur::Should, 2.0, term("a", "b")));
    assert_eq!(one("a:b ^2"), clause(Occur::Should, 2.0, term("a", "b")));
    assert_eq!(one("a:b^"), clause(Occur::Should, 1.0, term("a", "b")));
    assert_eq!(one("a:b^0.5"), clause(Occur::Should, 0.5, term("a", "b")));
    assert_eq!(one("a:b^-1"), clause(Occur::Should, -1.0, term("a", "b")));
    assert_eq!(one("a:b^0x1p2"), clause(Occur::Should, 4.0, term("a", "b")));
    assert_eq!(
        one("a:5^2"),
        clause(Occur::Should, 2.0, number("a", "5", 5.0))
    );
    assert_eq!(
        one(r#"-a:"x y"^3"#),
        clause(Occur::MustNot, 3.0, term("a", "x y"))
    );
    assert_eq!(
        one("+label.level:>=10^2"),
        clause(
            Occur::Must,
            2.0,
            range("label.level", Bound::Inclusive(10.0), Bound::Unbounded)
        )
    );
    assert!(error("a:b^x").contains("boost"));
    assert!(error("a:b^2^3").contains("boost"));
    assert!(error("a:b^inf").contains("boost"));
    assert!(error("a:b^nan").contains("boost"));
    assert!(error("a:b^1e400").contains("boost"));
}

#[test]
fn syntax_errors() {
    for bad in [
        ":a", "a:", "a:b:c", "+", "-", "+-a", "--a", "a:>", "a:>=", "a:<", "a:=5", "a:<>5", "a:>x",
        "a:-x", "a:-", "a:>-", "a:>=\"x", "a:b~1~2", "^2", "~", "a ^2 ^3", "a:b c:", "\"a\":b",
        "a:b\tc:d", "a:>5~",
    ] {
        let message = error(bad);
        assert!(
            message.contains("syntax error")
                || message.contains("unterminated")
                || message.contains("boost")
                || message.contains("fuzziness"),
            "{bad:?}: {message}"
        );
    }
    assert!(error(r#"a:"b"#).contains("unterminated quote"));
    assert_eq!(parse(r#"a:"b"#).unwrap_err().position, 2);
    assert_eq!(parse("a:b c:").unwrap_err().position, 6);
    // Go's unicode.IsDigit starts a number that ParseFloat refuses.
    assert!(error("f:٣").contains("number"));
    // Overflow is Go's range error.
    assert!(error(&format!("f:{}", "9".repeat(400))).contains("number"));
}

#[test]
fn bounds() {
    let long = format!("f:{}", "a".repeat(MAX_QUERY_BYTES - 2));
    assert_eq!(long.len(), MAX_QUERY_BYTES);
    assert!(parse(&long).is_ok());
    let too_long = format!("{long}a");
    assert!(error(&too_long).contains("longer than"));

    let max: Vec<String> = (0..MAX_CLAUSES).map(|i| format!("f:{i}")).collect();
    assert_eq!(clauses(&max.join(" ")).len(), MAX_CLAUSES);
    let more = format!("{} g:x", max.join(" "));
    let e = parse(&more).unwrap_err();
    assert!(e.message.contains("clauses"), "{e}");
    assert_eq!(e.position, more.len() - 3);

    // The patterns of one query share PATTERN_BUDGET of compiled heap.
    assert!(error(r"f:/\pL{1000}/").contains("too large"));
    assert!(parse(&vec!["f:a*"; MAX_CLAUSES].join(" ")).is_ok());
    let blocked = r"-p.blocked:/.*4bd6667a\-2659\-4888\-b245\-e13690ff4a9b.*/";
    assert!(parse(&vec![blocked; 60].join(" ")).is_ok());
    // `.{100}` takes about 100 KiB: 15 fit, 30 do not.
    assert!(parse(&vec!["f:/.{100}/"; 15].join(" ")).is_ok());
    let e = parse(&vec!["f:/.{100}/"; 30].join(" ")).unwrap_err();
    assert!(e.message.contains("too large"), "{e}");
    assert!(e.position > 100, "{e}");
    // compile() keeps the same budget for a query built by hand.
    let big = Query::Bool(
        (0..30)
            .map(|_| {
                clause(
                    Occur::Should,
                    1.0,
                    Leaf::Regex {
                        field: "f".into(),
                        pattern: ".{100}".into(),
                    },
                )
            })
            .collect(),
    );
    assert!(big.compile().is_err());
}

/// Queries from Nakama's documentation and tests.
#[test]
fn nakama_examples() {
    let u = Bound::Unbounded;
    let cases: Vec<(&str, Vec<Clause>)> = vec![
        (
            "+label.mode:ranked +label.skill:>=50 -label.region:eu",
            vec![
                clause(Occur::Must, 1.0, term("label.mode", "ranked")),
                clause(
                    Occur::Must,
                    1.0,
                    range("label.skill", Bound::Inclusive(50.0), u),
                ),
                clause(Occur::MustNot, 1.0, term("label.region", "eu")),
            ],
        ),
        (
            "+label.convo_ids:abc",
            vec![clause(Occur::Must, 1.0, term("label.convo_ids", "abc"))],
        ),
        (
            "label.level:>=10^2",
            vec![clause(
                Occur::Should,
                2.0,
                range("label.level", Bound::Inclusive(10.0), u),
            )],
        ),
        (
            "+label.mode:freeforall label.level:>10",
            vec![
                clause(Occur::Must, 1.0, term("label.mode", "freeforall")),
                clause(
                    Occur::Should,
                    1.0,
                    range("label.level", Bound::Exclusive(10.0), u),
                ),
            ],
        ),
        (
            "+label.open:1 +label.skill:>=100 +label.skill:<=200",
            vec![
                clause(Occur::Must, 1.0, number("label.open", "1", 1.0)),
                clause(
                    Occur::Must,
                    1.0,
                    range("label.skill", Bound::Inclusive(100.0), u),
                ),
                clause(
                    Occur::Must,
                    1.0,
                    range("label.skill", u, Bound::Inclusive(200.0)),
                ),
            ],
        ),
        (
            "+properties.region:europe +properties.rank:>=5 +properties.rank:<=10",
            vec![
                clause(Occur::Must, 1.0, term("properties.region", "europe")),
                clause(
                    Occur::Must,
                    1.0,
                    range("properties.rank", Bound::Inclusive(5.0), u),
                ),
                clause(
                    Occur::Must,
                    1.0,
                    range("properties.rank", u, Bound::Inclusive(10.0)),
                ),
            ],
        ),
        (
            "+properties.game_mode:foo +properties.maps:/.*(map3|some_map_foo).*/",
            vec![
                clause(Occur::Must, 1.0, term("properties.game_mode", "foo")),
                clause(
                    Occur::Must,
                    1.0,
                    Leaf::Regex {
                        field: "properties.maps".into(),
                        pattern: ".*(map3|some_map_foo).*".into(),
                    },
                ),
            ],
        ),
        (
            "properties.region:europe^10 properties.region:asia^5",
            vec![
                clause(Occur::Should, 10.0, term("properties.region", "europe")),
                clause(Occur::Should, 5.0, term("properties.region", "asia")),
            ],
        ),
        (
            "+label.mode:ranked label.players:<4",
            vec![
                clause(Occur::Must, 1.0, term("label.mode", "ranked")),
                clause(
                    Occur::Should,
                    1.0,
                    range("label.players", u, Bound::Exclusive(4.0)),
                ),
            ],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(clauses(text), want, "{text}");
    }
}

/// A small xorshift generator: the test needs no crate to be random.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Parsing never panics: random strings over the grammar's alphabet and
/// random mutations of valid queries, with every leaf of what parses
/// checked for its invariants.
#[test]
fn parse_never_panics_on_arbitrary_input() {
    let alphabet: Vec<char> = "ab01 9.:+-<>=^~*?/\\\"()[]{}|&!$,eEpPxX_\t\n٣é\u{3000}"
        .chars()
        .collect();
    let pieces = [
        "label.",
        "f:",
        ":>",
        ":>=",
        ":<",
        ":<=",
        "\"2024-01-01T00:00:00Z\"",
        "/a.*/",
        "/",
        "~",
        "~2",
        "^",
        "^2",
        "\\",
        "\"",
        " ",
        "+",
        "-",
        "5",
        "-5",
        "1.5",
        "*",
        "?",
        "/[/",
    ];
    let seeds = [
        "+label.mode:ranked +label.skill:>=50 -label.region:eu",
        "f:/.*(a|b).*/ g:ab*c? h:x~1 ^2",
        r#"a:>"2024-02-29T13:05:09Z" b:<=-3 "x y" \:z"#,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for i in 0..20_000 {
        let text: String = match i % 3 {
            0 => (0..rng.below(40))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
            1 => (0..rng.below(12))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect(),
            _ => {
                let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(chars.len() + 1);
                    match rng.below(3) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 if at < chars.len() => chars[at] = alphabet[rng.below(alphabet.len())],
                        _ => chars.insert(at, alphabet[rng.below(alphabet.len())]),
                    }
                }
                chars.into_iter().collect()
            }
        };
        match parse(&text) {
            Ok(Query::All) => assert_eq!(text, "*"),
            Ok(Query::Bool(clauses)) => {
                parsed += 1;
                assert!(clauses.len() <= MAX_CLAUSES);
                assert_eq!(clauses.is_empty(), text.is_empty(), "{text:?}");
                for c in clauses {
                    assert!(c.boost.is_finite(), "{text:?}");
                    match c.leaf {
                        Leaf::Fuzzy { distance, .. } => assert!(distance <= 2),
                        Leaf::Number { value, text: t, .. } => {
                            assert!(value.is_finite());
                            assert_eq!(t.parse::<f64>().ok(), Some(value));
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => assert!(e.position <= text.len(), "{text:?}: {e:?}"),
        }
    }
    assert!(parsed > 1000, "only {parsed} inputs parsed");
}
