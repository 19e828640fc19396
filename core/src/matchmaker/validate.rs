//! The checks `matchmaker_add` makes before a ticket exists, with Nakama's
//! messages (all `BAD_INPUT` on the realtime wire).

/// A refused count, with Nakama's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountError {
    MinCount,
    MaxCount,
    CountMultiple,
    MultipleOfMin,
    MultipleOfMax,
}

impl CountError {
    /// Nakama's message for it.
    pub fn message(self) -> &'static str {
        match self {
            CountError::MinCount => "Invalid minimum count, must be >= 2",
            CountError::MaxCount => "Invalid maximum count, must be >= minimum count",
            CountError::CountMultiple => "Invalid count multiple, must be >= 1",
            CountError::MultipleOfMin => "Invalid count multiple for minimum count, must divide",
            CountError::MultipleOfMax => "Invalid count multiple for maximum count, must divide",
        }
    }
}

/// The largest `max_count` Kairos accepts: a match of more players than
/// this is not what a matchmaker forms, and it bounds a group's size.
pub const MAX_COUNT: i64 = 256;

/// Checks the counts as Nakama does, in its order; `count_multiple` is
/// `None` when the client sent none (then 1). Returns `(min, max,
/// multiple)`. Kairos also refuses a `max_count` above [`MAX_COUNT`] with
/// the maximum-count message.
pub fn validate_counts(
    min_count: i64,
    max_count: i64,
    count_multiple: Option<i64>,
) -> Result<(usize, usize, usize), CountError> {
    if min_count < 2 {
        return Err(CountError::MinCount);
    }
    if max_count < min_count || max_count > MAX_COUNT {
        return Err(CountError::MaxCount);
    }
    let multiple = match count_multiple {
        None => 1,
        Some(m) if m < 1 => return Err(CountError::CountMultiple),
        Some(m) => {
            if min_count % m != 0 {
                return Err(CountError::MultipleOfMin);
            }
            if max_count % m != 0 {
                return Err(CountError::MultipleOfMax);
            }
            m
        }
    };
    Ok((min_count as usize, max_count as usize, multiple as usize))
}
