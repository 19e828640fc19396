//! A document as the query language sees it: dotted field paths, each
//! holding keywords, numbers or dates (a path may hold several values, as
//! a JSON array does).

/// One value of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (or a bool, as `"T"`/`"F"`), matched whole.
    Keyword(String),
    /// Any JSON number, as f64.
    Number(f64),
    /// A string that parses as a date, in nanoseconds since the epoch.
    Date(i64),
}

/// A flattened document: `(path, value)` pairs in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub fields: Vec<(String, Value)>,
}

impl Doc {
    /// Adds a keyword.
    pub fn push_keyword(&mut self, path: &str, value: impl Into<String>) {
        self.fields
            .push((path.to_string(), Value::Keyword(value.into())));
    }

    /// Adds a number.
    pub fn push_number(&mut self, path: &str, value: f64) {
        self.fields.push((path.to_string(), Value::Number(value)));
    }

    /// Adds a date, in nanoseconds since the epoch.
    pub fn push_date(&mut self, path: &str, unix_nanos: i64) {
        self.fields
            .push((path.to_string(), Value::Date(unix_nanos)));
    }

    /// The values at `path`, in the order they were added.
    pub fn values<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.fields
            .iter()
            .filter(move |(p, _)| p == path)
            .map(|(_, v)| v)
    }
}
