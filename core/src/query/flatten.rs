//! A JSON value flattened into a [`Doc`], as Nakama's `BlugeWalkDocument`
//! indexes a match label (under `label`) or matchmaker properties (under
//! `properties`):
//!
//! - an object's members sit at `path.key`; an array's elements all sit
//!   at the array's own path (nested arrays too);
//! - a string is a date when one of Nakama's layouts parses it
//!   (RFC 3339 with or without a fraction, `2006-01-02T15:04:05`,
//!   `2006-01-02 15:04:05`, `2006-01-02`, UTC without a zone), else a
//!   keyword;
//! - a number is a number, a bool the keyword `T` or `F`, `null` nothing.
//!
//! Bounds, for a hostile label: [`MAX_JSON_DEPTH`] levels of objects and
//! arrays below the root (deeper values are left out) and
//! [`MAX_JSON_FIELDS`] values from one walk (later ones are left out).
//! Nakama has neither; labels are at most 2048 bytes, so these only cut
//! what no honest label holds.

use super::date;
use super::doc::{Doc, Value};
use serde_json::Value as Json;

/// The deepest nesting of objects and arrays walked below the root.
pub const MAX_JSON_DEPTH: usize = 32;
/// The most values one JSON walk adds to a document.
pub const MAX_JSON_FIELDS: usize = 1024;

impl Doc {
    /// The document of a match label: its members under `label` when it
    /// is a JSON object, else no fields (Nakama indexes a label that is
    /// not an object as `label_string` only).
    pub fn from_label(label: &str) -> Doc {
        let mut doc = Doc::default();
        if let Ok(json @ Json::Object(_)) = serde_json::from_str::<Json>(label) {
            doc.push_json("label", &json);
        }
        doc
    }

    /// The document of one JSON value at `root` (see [`Doc::push_json`]).
    pub fn from_json(root: &str, value: &Json) -> Doc {
        let mut doc = Doc::default();
        doc.push_json(root, value);
        doc
    }

    /// Adds a JSON value at `path`: an object's members below it, an
    /// array's elements at it, a scalar at it, as the module describes.
    /// An empty `path` puts an object's members at their bare keys.
    pub fn push_json(&mut self, path: &str, value: &Json) {
        let mut walk = Walk {
            doc: self,
            path: path.to_string(),
            at_root: path.is_empty(),
            left: MAX_JSON_FIELDS,
        };
        walk.value(value, 0);
    }
}

/// A walk in progress: the path so far and the values it may still add.
struct Walk<'a> {
    doc: &'a mut Doc,
    path: String,
    /// Whether the path has no component yet (an empty root): the first
    /// key then takes no `.` before it.
    at_root: bool,
    left: usize,
}

impl Walk<'_> {
    fn push(&mut self, value: Value) {
        if self.left > 0 {
            self.left -= 1;
            self.doc.fields.push((self.path.clone(), value));
        }
    }

    fn value(&mut self, value: &Json, depth: usize) {
        match value {
            Json::Null => {}
            Json::Bool(b) => self.push(Value::Keyword(if *b { "T" } else { "F" }.into())),
            Json::Number(n) => {
                if let Some(f) = n.as_f64() {
                    self.push(Value::Number(f));
                }
            }
            Json::String(s) => {
                let value = match date::parse_label_date(s) {
                    // bluge indexes Go's UnixNano, which wraps outside
                    // 1677-2262.
                    Some(instant) => Value::Date(instant.unix_nanos_wrapping()),
                    None => Value::Keyword(s.clone()),
                };
                self.push(value);
            }
            Json::Array(items) => {
                if depth < MAX_JSON_DEPTH {
                    for item in items {
                        self.value(item, depth + 1);
                    }
                }
            }
            Json::Object(members) => {
                if depth < MAX_JSON_DEPTH {
                    let len = self.path.len();
                    let was_root = std::mem::replace(&mut self.at_root, false);
                    for (key, item) in members {
                        if !was_root {
                            self.path.push('.');
                        }
                        self.path.push_str(key);
                        self.value(item, depth + 1);
                        self.path.truncate(len);
                    }
                    self.at_root = was_root;
                }
            }
        }
    }
}
