//! RFC 3339 text ⇄ `google.protobuf.Timestamp`.
//!
//! [`crate::rtapi::Outgoing`] carries times as the RFC 3339 strings the JSON
//! wire writes (`2024-02-29T13:05:09Z`, `…09.123Z`, `…09.123456Z`); the
//! protobuf wire carries a `Timestamp`. The range is protobuf's:
//! 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.

use super::wrappers::Timestamp;

/// Seconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction of 1 to 9 digits, then `Z` or a `±HH:MM` offset. `t` and `z`
/// may be lowercase. Leap seconds (`:60`) and anything out of protobuf's
/// range are refused.
pub fn parse(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&tail[..n])? * 10i64.pow(9 - n as u32);
        rest = &tail[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = (h * 60 + m) * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return None;
    }
    Some(Timestamp {
        seconds,
        nanos: nanos as i32,
    })
}

/// Formats a timestamp as protojson does: UTC with `Z`, and a fraction of
/// 0, 3, 6 or 9 digits, the fewest that hold the nanos. `None` when out of
/// protobuf's range or when `nanos` is not in `0..1_000_000_000`.
pub fn format(ts: &Timestamp) -> Option<String> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos)
    {
        return None;
    }
    let days = ts.seconds.div_euclid(86_400);
    let secs = ts.seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let stem = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    let n = ts.nanos;
    Some(if n == 0 {
        format!("{stem}Z")
    } else if n % 1_000_000 == 0 {
        format!("{stem}.{:03}Z", n / 1_000_000)
    } else if n % 1000 == 0 {
        format!("{stem}.{:06}Z", n / 1000)
    } else {
        format!("{stem}.{n:09}Z")
    })
}

/// ASCII digits as a number; `None` for anything else.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days-from-civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn parses_known_instants() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(ts(0, 0)));
        assert_eq!(parse("2000-02-29T00:00:00Z"), Some(ts(951_782_400, 0)));
        assert_eq!(parse("2024-02-29T13:05:09Z"), Some(ts(1_709_211_909, 0)));
        assert_eq!(parse("2099-12-31T23:59:59Z"), Some(ts(4_102_444_799, 0)));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Some(ts(-1, 0)));
        assert_eq!(parse("0001-01-01T00:00:00Z"), Some(ts(MIN_SECONDS, 0)));
        assert_eq!(
            parse("9999-12-31T23:59:59.999999999Z"),
            Some(ts(MAX_SECONDS, 999_999_999))
        );
    }

    #[test]
    fn parses_fractions_and_offsets() {
        assert_eq!(
            parse("2024-02-29T13:05:09.123Z"),
            Some(ts(1_709_211_909, 123_000_000))
        );
        assert_eq!(
            parse("2024-02-29T13:05:09.123456Z"),
            Some(ts(1_709_211_909, 123_456_000))
        );
        assert_eq!(
            parse("2024-02-29T13:05:09.000000001Z"),
            Some(ts(1_709_211_909, 1))
        );
        assert_eq!(
            parse("2024-02-29T13:05:09.5z"),
            Some(ts(1_709_211_909, 500_000_000))
        );
        assert_eq!(
            parse("2024-02-29t15:05:09+02:00"),
            Some(ts(1_709_211_909, 0))
        );
        assert_eq!(
            parse("2024-02-29T12:35:09.25-00:30"),
            Some(ts(1_709_211_909, 250_000_000))
        );
        // An offset that crosses midnight and the epoch.
        assert_eq!(parse("1969-12-31T23:00:00-01:00"), Some(ts(0, 0)));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "t",
            "2024-02-29",
            "2024-02-29T13:05:09",
            "2024-02-29 13:05:09Z",
            "2024-02-30T13:05:09Z",
            "2023-02-29T13:05:09Z",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00ZZ",
            "2024-01-01T00:00:00Z ",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:0xZ",
            "0000-12-31T23:59:59Z",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse("2000-02-29T00:00:00Z").map(|t| t.nanos), Some(0));
    }

    #[test]
    fn formats_like_protojson() {
        assert_eq!(format(&ts(0, 0)).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            format(&ts(1_709_211_909, 0)).unwrap(),
            "2024-02-29T13:05:09Z"
        );
        assert_eq!(
            format(&ts(1_709_211_909, 120_000_000)).unwrap(),
            "2024-02-29T13:05:09.120Z"
        );
        assert_eq!(
            format(&ts(1_709_211_909, 123_456_000)).unwrap(),
            "2024-02-29T13:05:09.123456Z"
        );
        assert_eq!(
            format(&ts(1_709_211_909, 1)).unwrap(),
            "2024-02-29T13:05:09.000000001Z"
        );
        assert_eq!(format(&ts(-1, 0)).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(format(&ts(0, -1)), None);
        assert_eq!(format(&ts(0, 1_000_000_000)), None);
        assert_eq!(format(&ts(MAX_SECONDS + 1, 0)), None);
        assert_eq!(format(&ts(MIN_SECONDS - 1, 0)), None);
    }

    #[test]
    fn round_trips_across_the_whole_range() {
        // Every week from 0001 to 9999, at a varying second of the day.
        let mut seconds = MIN_SECONDS;
        while seconds <= MAX_SECONDS {
            let t = ts(seconds, (seconds.rem_euclid(7) * 1_000_000) as i32);
            let text = format(&t).unwrap();
            assert_eq!(parse(&text), Some(t), "{text}");
            seconds += 7 * 86_400 + 3_607;
        }
    }
}
