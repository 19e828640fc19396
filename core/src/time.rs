//! Wall-clock helpers and RFC 3339 formatting as protojson writes Timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in whole seconds.
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

/// Unix time in milliseconds.
pub fn now_millis() -> i64 {
    now_micros() / 1000
}

/// Unix time in microseconds: the resolution chat messages and
/// notifications are stored and ordered with.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Formats unix microseconds as protojson does: no fraction when it is
/// zero, else 3 or 6 digits (`2024-02-29T13:05:09.120Z`).
pub fn rfc3339_micros(unix_micros: i64) -> String {
    let secs = unix_micros.div_euclid(1_000_000);
    let frac = unix_micros.rem_euclid(1_000_000);
    let whole = rfc3339(secs);
    let stem = &whole[..whole.len() - 1];
    if frac == 0 {
        whole
    } else if frac % 1000 == 0 {
        format!("{stem}.{:03}Z", frac / 1000)
    } else {
        format!("{stem}.{frac:06}Z")
    }
}

/// Formats unix seconds as protojson formats a `google.protobuf.Timestamp`
/// with zero nanos: `2024-02-29T13:05:09Z`.
pub fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_211_909), "2024-02-29T13:05:09Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn formats_fractions_like_protojson() {
        assert_eq!(
            rfc3339_micros(1_709_211_909_000_000),
            "2024-02-29T13:05:09Z"
        );
        assert_eq!(
            rfc3339_micros(1_709_211_909_120_000),
            "2024-02-29T13:05:09.120Z"
        );
        assert_eq!(
            rfc3339_micros(1_709_211_909_000_007),
            "2024-02-29T13:05:09.000007Z"
        );
        assert_eq!(rfc3339_micros(-1), "1969-12-31T23:59:59.999999Z");
    }
}
