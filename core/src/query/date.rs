//! Dates as Go's `time.Parse` reads them with the layouts the query
//! language uses: RFC 3339 for a date in a query (bluge's default), and
//! Nakama's five layouts for a string in a label (`blugeParseDateTime`).
//!
//! Go's general parser is more lenient than RFC 3339, and this follows Go:
//! the hour may be one digit, the fraction may follow a `,`, any number of
//! fraction digits is read (the first nine count), an offset may be up to
//! `24:60`, and a space in a layout matches one or more spaces.

/// An instant: seconds since the Unix epoch and nanoseconds within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

/// Go's zero `time.Time`, 0001-01-01T00:00:00Z, in Unix seconds.
const GO_ZERO_SECS: i64 = -62_135_596_800;

impl Instant {
    /// Go's `Time.IsZero`: bluge reads the zero time as an open bound.
    pub fn is_go_zero(self) -> bool {
        self.secs == GO_ZERO_SECS && self.nanos == 0
    }

    /// Nanoseconds since the epoch, `None` outside the `i64` range (where
    /// bluge refuses a date range's bound).
    pub fn unix_nanos(self) -> Option<i64> {
        let n = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos);
        i64::try_from(n).ok()
    }

    /// Go's `Time.UnixNano`, which wraps outside the `i64` range: what
    /// bluge indexes for such a date in a document.
    pub fn unix_nanos_wrapping(self) -> i64 {
        self.secs
            .wrapping_mul(1_000_000_000)
            .wrapping_add(i64::from(self.nanos))
    }
}

/// What follows the date in a layout.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `2006-01-02T15:04:05Z07:00` (RFC 3339, and RFC 3339 with
    /// nanoseconds, which Go's parser reads alike).
    Zoned,
    /// `2006-01-02T15:04:05`, in UTC.
    LocalT,
    /// `2006-01-02 15:04:05`, in UTC.
    LocalSpace,
    /// `2006-01-02`, midnight UTC.
    DateOnly,
}

/// `time.Parse(time.RFC3339, s)`.
pub(crate) fn parse_rfc3339(s: &str) -> Option<Instant> {
    parse_layout(s.as_bytes(), Layout::Zoned)
}

/// Nakama's `blugeParseDateTime`: the first of its layouts that parses.
pub(crate) fn parse_label_date(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    // Every layout starts with a four-digit year and a `-`.
    if b.len() < 10 || b[4] != b'-' {
        return None;
    }
    [
        Layout::Zoned,
        Layout::LocalT,
        Layout::LocalSpace,
        Layout::DateOnly,
    ]
    .into_iter()
    .find_map(|layout| parse_layout(b, layout))
}

/// Go's `getnum`: one or two digits (two when `fixed`).
fn number(s: &mut &[u8], fixed: bool) -> Option<i64> {
    let d0 = *s.first().filter(|b| b.is_ascii_digit())?;
    match s.get(1).filter(|b| b.is_ascii_digit()) {
        Some(&d1) => {
            *s = &s[2..];
            Some(i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'))
        }
        None if fixed => None,
        None => {
            *s = &s[1..];
            Some(i64::from(d0 - b'0'))
        }
    }
}

fn literal(s: &mut &[u8], c: u8) -> Option<()> {
    if s.first() == Some(&c) {
        *s = &s[1..];
        Some(())
    } else {
        None
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_layout(mut s: &[u8], layout: Layout) -> Option<Instant> {
    let s = &mut s;
    // 2006: exactly four digits.
    let year_digits = s.get(..4)?;
    if !year_digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = year_digits
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    *s = &s[4..];
    literal(s, b'-')?;
    let month = number(s, true)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    literal(s, b'-')?;
    let day = number(s, true)?;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0u32);
    let mut offset_secs = 0;
    if layout != Layout::DateOnly {
        if layout == Layout::LocalSpace {
            // A space in a layout matches one or more spaces.
            literal(s, b' ')?;
            while s.first() == Some(&b' ') {
                *s = &s[1..];
            }
        } else {
            literal(s, b'T')?;
        }
        hour = number(s, false)?;
        if hour >= 24 {
            return None;
        }
        literal(s, b':')?;
        minute = number(s, true)?;
        if minute >= 60 {
            return None;
        }
        literal(s, b':')?;
        second = number(s, true)?;
        if second >= 60 {
            return None;
        }
        // A fraction: `.` or `,` then digits, of which the first nine count.
        if s.len() >= 2 && matches!(s[0], b'.' | b',') && s[1].is_ascii_digit() {
            let digits = s[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            let mut n = 0u32;
            for i in 0..9 {
                let d = if i < digits {
                    u32::from(s[1 + i] - b'0')
                } else {
                    0
                };
                n = n * 10 + d;
            }
            nanos = n;
            *s = &s[1 + digits..];
        }
        if layout == Layout::Zoned {
            if s.first() == Some(&b'Z') {
                *s = &s[1..];
            } else {
                // ±hh:mm, each two digits; Go allows up to 24 and 60.
                if s.len() < 6 || s[3] != b':' {
                    return None;
                }
                let sign = match s[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let hh = number(&mut &s[1..3], true)?;
                let mm = number(&mut &s[4..6], true)?;
                if hh > 24 || mm > 60 {
                    return None;
                }
                offset_secs = sign * (hh * 3600 + mm * 60);
                *s = &s[6..];
            }
        }
    }
    if !s.is_empty() || day < 1 || day > days_in(month, year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(Instant { secs, nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(s: &str) -> Option<i64> {
        parse_rfc3339(s).and_then(Instant::unix_nanos)
    }

    #[test]
    fn rfc3339() {
        assert_eq!(nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            nanos("2024-02-29T13:05:09Z"),
            Some(1_709_211_909_000_000_000)
        );
        assert_eq!(
            nanos("2024-02-29T14:05:09+01:00"),
            Some(1_709_211_909_000_000_000)
        );
        assert_eq!(
            nanos("2024-02-29T12:35:09-00:30"),
            Some(1_709_211_909_000_000_000)
        );
        assert_eq!(
            nanos("2024-02-29T13:05:09.123456789123Z"),
            Some(1_709_211_909_123_456_789)
        );
        assert_eq!(
            nanos("2024-02-29T13:05:09,5Z"),
            Some(1_709_211_909_500_000_000)
        );
        // Go reads a one-digit hour and offsets up to 24:60.
        assert_eq!(nanos("1970-01-01T1:00:00Z"), Some(3_600_000_000_000));
        assert_eq!(nanos("1970-01-02T00:00:00+24:60"), Some(-3_600_000_000_000));
        assert_eq!(nanos("1969-12-31T23:59:59.999999999Z"), Some(-1));
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01t00:00:00Z",
            "2024-01-01T00:00:00z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+25:00",
            "2024-01-01T00:00:00+01:61",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Z ",
            "2024-1-01T00:00:00Z",
            "24-01-01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "2024-01-01",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn label_layouts() {
        let day = |s| parse_label_date(s).map(|i| i.secs);
        assert_eq!(day("2024-02-29"), Some(1_709_164_800));
        assert_eq!(day("2024-02-29T00:00:00"), Some(1_709_164_800));
        assert_eq!(day("2024-02-29 00:00:00"), Some(1_709_164_800));
        assert_eq!(day("2024-02-29   00:00:00.5"), Some(1_709_164_800));
        assert_eq!(day("2024-02-29T01:00:00+01:00"), Some(1_709_164_800));
        assert_eq!(day("2024-02-29T00:00:00.000Z"), Some(1_709_164_800));
        for bad in [
            "2024-02-29 ",
            "2024-02-29T",
            "2024/02/29",
            "ranked",
            "2024-02-29x",
        ] {
            assert_eq!(parse_label_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn out_of_range_and_zero() {
        let zero = parse_rfc3339("0001-01-01T00:00:00Z").unwrap();
        assert!(zero.is_go_zero());
        assert_eq!(zero.unix_nanos(), None);
        // Go's UnixNano wraps.
        assert_eq!(
            zero.unix_nanos_wrapping(),
            (-62_135_596_800i64).wrapping_mul(1_000_000_000)
        );
        assert!(
            !parse_rfc3339("0001-01-01T00:00:00+01:00")
                .unwrap()
                .is_go_zero()
        );
        assert_eq!(nanos("2262-04-11T23:47:16.854775807Z"), Some(i64::MAX));
        assert_eq!(nanos("2262-04-11T23:47:16.854775808Z"), None);
        assert_eq!(nanos("1677-09-21T00:12:43.145224192Z"), Some(i64::MIN));
        assert_eq!(nanos("9999-12-31T23:59:59Z"), None);
        assert!(parse_rfc3339("0000-02-29T00:00:00Z").is_some());
    }
}
