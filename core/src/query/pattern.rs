//! Regular expressions and wildcards, compiled to match a whole keyword as
//! bluge's automata do (vellum's regexp on Go's `regexp/syntax`, Perl
//! flags).
//!
//! A `/re/` pattern is Go syntax. What vellum refuses is refused here at
//! parse time: anchors (`^ $ \A \z`), word boundaries (`\b \B`), lazy
//! repetitions (`a*?`, and the `U` flag), and Go's limit of 1000 on a
//! repetition count. Go's Perl classes are ASCII (`\d` is `[0-9]`, `\s`
//! is `[\t\n\f\r ]`, `\w` is `[0-9A-Za-z_]`), and so they are here. `\<`
//! and `\>` are the literal characters, as in Go. The `regex` crate's own
//! extensions that Go does not have are refused: the `x`, `u` and `R`
//! flags, `\u`/`\U` escapes and class set operations (`&&`, `--`, `~~`).
//!
//! A wildcard is literal but for `*` (any run of characters but `\n`)
//! and `?` (any one character but `\n`), as bluge turns it into a regexp.

use regex_automata::meta;
use regex_automata::util::syntax;
use regex_syntax::ast::{
    self, Assertion, AssertionKind, Ast, ClassPerl, ClassPerlKind, ClassSetBinaryOp, ClassSetItem,
    Flag, FlagsItemKind, HexLiteralKind, LiteralKind, RepetitionKind, RepetitionRange, Span,
    Visitor,
};

/// The heap all the patterns of one query may use, compiled (the
/// engine's own figure): what bounds the work of compiling them, about
/// 30 ms at most in a release build. vellum allows 10 MiB to each
/// pattern, so that the 256 clauses of one query could take 2.5 GiB and
/// seconds of CPU. Typical patterns take a few KiB (`/.*(a|b).*/`: 4 KiB,
/// a wildcard: 1.5 KiB), `\pL` 50 KiB and `.{1000}` 1 MiB.
pub const PATTERN_BUDGET: usize = 2 << 20;
/// The lazy DFA's cache of each pattern, at most (outside the budget: at
/// most 16 MiB for 256 patterns, and only as matching fills it).
const LAZY_DFA_CACHE: usize = 64 << 10;
/// Go's `regexp/syntax` refuses larger repetition counts.
const MAX_REPEAT: u32 = 1000;

/// A compiled pattern that matches whole keywords.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(meta::Regex);

impl Pattern {
    pub fn is_match(&self, keyword: &str) -> bool {
        self.0.is_match(keyword)
    }
}

/// What the patterns of one query may still use: see [`PATTERN_BUDGET`].
pub(crate) struct Budget(usize);

impl Budget {
    pub fn new() -> Self {
        Budget(PATTERN_BUDGET)
    }
}

/// A `/re/` pattern (Go syntax, without its slashes) as a `regex`-crate
/// pattern with the same meaning, unanchored: for an index whose regexp
/// query, like tantivy's, matches whole terms. An error for what Go or
/// vellum refuses.
pub fn go_regex_to_rust(pattern: &str) -> Result<String, String> {
    let parsed = ast::parse::ParserBuilder::new()
        .nest_limit(250)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid regexp: {}", e.kind()))?;
    let mut edits = Edits(Vec::new());
    ast::visit(&parsed, &mut edits)?;
    Ok(edits.apply(pattern))
}

/// A wildcard as a `regex`-crate pattern, unanchored (as
/// [`go_regex_to_rust`]): `*` is `.*`, `?` is `.`, the rest literal.
pub fn wildcard_to_regex(pattern: &str) -> String {
    let mut re = String::with_capacity(pattern.len() * 2);
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => regex_syntax::escape_into(c.encode_utf8(&mut [0; 4]), &mut re),
        }
    }
    re
}

/// Compiles a `/re/` pattern (without its slashes) to match whole keywords.
pub(crate) fn compile_regex(pattern: &str, budget: &mut Budget) -> Result<Pattern, String> {
    whole(&go_regex_to_rust(pattern)?, budget)
}

/// Compiles a wildcard to match whole keywords.
pub(crate) fn compile_wildcard(pattern: &str, budget: &mut Budget) -> Result<Pattern, String> {
    whole(&wildcard_to_regex(pattern), budget)
}

fn whole(re: &str, budget: &mut Budget) -> Result<Pattern, String> {
    let too_large = || "regexp too large: a query's patterns may use 2 MiB".to_string();
    if budget.0 == 0 {
        return Err(too_large());
    }
    let config = meta::Config::new()
        .nfa_size_limit(Some(budget.0))
        .onepass_size_limit(Some(budget.0.min(1 << 20)))
        .hybrid_cache_capacity(LAZY_DFA_CACHE)
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit);
    let regex = meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::new().nest_limit(250))
        .build(&format!(r"\A(?:{re})\z"))
        .map_err(|e| {
            if e.size_limit().is_some() {
                too_large()
            } else {
                format!("invalid regexp: {e}")
            }
        })?;
    let used = regex.memory_usage();
    if used > budget.0 {
        budget.0 = 0;
        return Err(too_large());
    }
    budget.0 -= used;
    Ok(Pattern(regex))
}

/// Replacements to make in the pattern, by byte span, found by walking it;
/// the walk stops with an error at what Go or vellum would refuse.
struct Edits(Vec<(usize, usize, &'static str)>);

impl Edits {
    fn replace(&mut self, span: &Span, with: &'static str) {
        self.0.push((span.start.offset, span.end.offset, with));
    }

    fn perl(&mut self, class: &ClassPerl) {
        let with = match (&class.kind, class.negated) {
            (ClassPerlKind::Digit, false) => "[0-9]",
            (ClassPerlKind::Digit, true) => "[^0-9]",
            (ClassPerlKind::Space, false) => r"[\t\n\f\r ]",
            (ClassPerlKind::Space, true) => r"[^\t\n\f\r ]",
            (ClassPerlKind::Word, false) => "[0-9A-Za-z_]",
            (ClassPerlKind::Word, true) => "[^0-9A-Za-z_]",
        };
        self.replace(&class.span, with);
    }

    fn apply(mut self, pattern: &str) -> String {
        self.0.sort_by_key(|&(start, _, _)| start);
        let mut out = String::with_capacity(pattern.len() + 16 * self.0.len());
        let mut at = 0;
        for (start, end, with) in self.0 {
            out.push_str(&pattern[at..start]);
            out.push_str(with);
            at = end;
        }
        out.push_str(&pattern[at..]);
        out
    }
}

fn check_flags(flags: &ast::Flags) -> Result<(), String> {
    for item in &flags.items {
        if let FlagsItemKind::Flag(flag) = &item.kind {
            let name = match flag {
                Flag::CaseInsensitive | Flag::MultiLine | Flag::DotMatchesNewLine => continue,
                Flag::SwapGreed => "U",
                Flag::Unicode => "u",
                Flag::CRLF => "R",
                Flag::IgnoreWhitespace => "x",
            };
            return Err(format!("regexp flag {name} not allowed"));
        }
    }
    Ok(())
}

fn check_literal(literal: &ast::Literal) -> Result<(), String> {
    match literal.kind {
        LiteralKind::HexFixed(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong)
        | LiteralKind::HexBrace(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong) => {
            Err("invalid regexp: \\u and \\U escapes are not Go syntax".to_string())
        }
        _ => Ok(()),
    }
}

impl Visitor for &mut Edits {
    type Output = ();
    type Err = String;

    fn finish(self) -> Result<(), String> {
        Ok(())
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), String> {
        match ast {
            Ast::Assertion(assertion) => {
                let Assertion { span, kind } = assertion.as_ref();
                match kind {
                    AssertionKind::WordBoundaryStartAngle => self.replace(span, "<"),
                    AssertionKind::WordBoundaryEndAngle => self.replace(span, ">"),
                    AssertionKind::StartLine
                    | AssertionKind::EndLine
                    | AssertionKind::StartText
                    | AssertionKind::EndText => {
                        return Err("zero width assertions not allowed in a regexp".into());
                    }
                    _ => return Err("word boundaries are not allowed in a regexp".into()),
                }
            }
            Ast::ClassPerl(class) => self.perl(class),
            Ast::Literal(literal) => check_literal(literal)?,
            Ast::Flags(set) => check_flags(&set.flags)?,
            Ast::Group(group) => {
                if let ast::GroupKind::NonCapturing(flags) = &group.kind {
                    check_flags(flags)?;
                }
            }
            Ast::Repetition(rep) => {
                if !rep.greedy {
                    return Err("lazy quantifiers are not allowed in a regexp".into());
                }
                if let RepetitionKind::Range(range) = &rep.op.kind {
                    let (RepetitionRange::Exactly(n)
                    | RepetitionRange::AtLeast(n)
                    | RepetitionRange::Bounded(_, n)) = *range;
                    let low = match *range {
                        RepetitionRange::Bounded(m, _) => m,
                        _ => n,
                    };
                    if n > MAX_REPEAT || low > MAX_REPEAT {
                        return Err(format!("invalid regexp: repeat count above {MAX_REPEAT}"));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Perl(class) => self.perl(class),
            ClassSetItem::Literal(literal) => check_literal(literal)?,
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_binary_op_pre(&mut self, _op: &ClassSetBinaryOp) -> Result<(), String> {
        Err("invalid regexp: class set operations are not Go syntax".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        compile_regex(pattern, &mut Budget::new())
            .unwrap()
            .is_match(text)
    }

    #[test]
    fn regex_matches_the_whole_keyword() {
        assert!(matches("ab.", "abc"));
        assert!(!matches("ab", "abc"));
        assert!(!matches("bc", "abc"));
        assert!(matches(".*(map3|some_map_foo).*", "map1 map3"));
        assert!(matches("a|b", "b"));
        assert!(!matches("a|b", "ab"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
        assert!(!matches("a.c", "a\nc"));
        assert!(matches("(?s)a.c", "a\nc"));
        assert!(matches("(?i)ABC", "abc"));
        assert!(matches(r"\pL+", "héllo"));
        assert!(matches("[[:alpha:]]+", "abc"));
    }

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        assert!(matches(r"\d+", "0123"));
        assert!(!matches(r"\d", "٣"));
        assert!(matches(r"\D", "٣"));
        assert!(!matches(r"\w", "é"));
        assert!(matches(r"\W", "é"));
        assert!(!matches(r"\s", "\u{b}"));
        assert!(!matches(r"\s", "\u{a0}"));
        assert!(matches(r"[\d.]+", "1.5"));
        assert!(matches(r"[^\s]+", "ab"));
        assert!(matches(r"[\D]", "x"));
        assert!(matches(r"a\<b\>", "a<b>"));
    }

    #[test]
    fn what_vellum_or_go_refuses() {
        for bad in [
            "^a",
            "a$",
            r"\Aa",
            r"a\z",
            r"\ba",
            r"a\B",
            "a*?",
            "a+?",
            "a??",
            "a{1,2}?",
            "(?U)a*",
            "(?x)a b",
            "(?u)a",
            "(?R)a",
            r"\u0041",
            r"\U00000041",
            "[a&&b]",
            "[a--b]",
            "a{1001}",
            "a{2,1001}",
            "a{1001,}",
            "(",
            "[a",
            "a)",
            "*a",
            r"\8",
        ] {
            assert!(compile_regex(bad, &mut Budget::new()).is_err(), "{bad}");
        }
        assert!(compile_regex("a{1000}", &mut Budget::new()).is_ok());
        assert!(compile_regex("(?i:a)(?s-m:b)", &mut Budget::new()).is_ok());
    }

    #[test]
    fn translations() {
        assert_eq!(
            go_regex_to_rust(r"a\d[\s.]\<").unwrap(),
            r"a[0-9][[\t\n\f\r ].]<"
        );
        assert_eq!(wildcard_to_regex("a.b*c?"), r"a\.b.*c.");
    }

    #[test]
    fn wildcards() {
        let w = |p: &str, t: &str| compile_wildcard(p, &mut Budget::new()).unwrap().is_match(t);
        assert!(w("ab*", "ab"));
        assert!(w("ab*", "abcdef"));
        assert!(!w("ab*", "xab"));
        assert!(w("a?c", "abc"));
        assert!(!w("a?c", "ac"));
        assert!(!w("a*", "a\nb"));
        assert!(w("a.+(b)[c]{d}|^$\\*", "a.+(b)[c]{d}|^$\\x"));
        assert!(!w("a.c", "abc"));
        assert!(w("*", ""));
        assert!(w("é?", "éß"));
    }
}
