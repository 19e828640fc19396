//! How a flattened document's values become index terms.
//!
//! Labels are free-form JSON, so their fields are not known when the
//! index is made. Every field therefore lives in one of two index fields,
//! its path a prefix of each term:
//!
//! - `kw` (keywords): `path \0 value`, the value as UTF-8;
//! - `num` (numbers and dates): `path \0 tag value`, the tag `n` for a
//!   number or `d` for a date, the value 8 big-endian bytes that sort as
//!   the number does (so a range of values is a range of terms; numbers
//!   in bluge's order, `kairos_core::query::sortable`).
//!
//! A path holding `\0` cannot be told apart from its value and is not
//! indexed (no JSON label has one in practice; Nakama's paths are dotted
//! keys).

use kairos_core::query::sortable;

/// Separates a path from its value.
const SEP: u8 = 0;
pub const NUMBER: u8 = b'n';
pub const DATE: u8 = b'd';

/// Whether `path` can be indexed.
pub fn indexable(path: &str) -> bool {
    !path.as_bytes().contains(&SEP)
}

/// The keyword term of `value` at `path`.
pub fn keyword(path: &str, value: &str) -> String {
    let mut t = String::with_capacity(path.len() + 1 + value.len());
    t.push_str(path);
    t.push('\0');
    t.push_str(value);
    t
}

/// Every keyword term at `path` starts with this.
pub fn keyword_prefix(path: &str) -> String {
    keyword(path, "")
}

/// The number term of `value` at `path`, ordered as bluge orders
/// numbers ([`kairos_core::query::sortable`], as the evaluator compares
/// them).
pub fn number(path: &str, value: f64) -> Vec<u8> {
    number_key(path, sortable(value))
}

/// The number term of a [`sortable`] key at `path` (a range's bound).
pub fn number_key(path: &str, key: i64) -> Vec<u8> {
    tagged(path, NUMBER, sortable_i64(key))
}

/// The date term of `nanos` (since the epoch) at `path`.
pub fn date(path: &str, nanos: i64) -> Vec<u8> {
    tagged(path, DATE, sortable_i64(nanos))
}

fn tagged(path: &str, tag: u8, value: [u8; 8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(path.len() + 10);
    t.extend_from_slice(path.as_bytes());
    t.push(SEP);
    t.push(tag);
    t.extend_from_slice(&value);
    t
}

/// Bytes that compare as the integers do.
pub fn sortable_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_as_bytes() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(number("p", w[0]) < number("p", w[1]), "{w:?}");
        }
        let ints = [i64::MIN, -5, -1, 0, 1, 5, i64::MAX];
        for w in ints.windows(2) {
            assert!(sortable_i64(w[0]) < sortable_i64(w[1]), "{w:?}");
            assert!(date("p", w[0]) < date("p", w[1]), "{w:?}");
        }
    }

    #[test]
    fn terms_keep_paths_apart() {
        // A value at "a" never sorts among the values at "a.b" or "ab".
        let a = number("a", f64::INFINITY);
        assert!(a < number("a.b", f64::NEG_INFINITY));
        assert!(a < number("ab", f64::NEG_INFINITY));
        assert!(keyword("a", "zzz") < keyword("a.b", ""));
        assert!(!indexable("a\0b"));
        assert!(indexable("label.skill"));
    }
}
