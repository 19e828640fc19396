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
