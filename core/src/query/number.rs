//! Numbers as the grammar reads them: Go's `strconv.ParseFloat(s, 64)`
//! syntax (for boosts and fuzziness, where any text can appear) and the
//! order bluge compares numbers in.

/// Go's `strconv.ParseFloat(s, 64)`: a decimal float (`1`, `-2.5`, `.5`,
/// `1.`, `3e-2`), a hexadecimal float with a `p` exponent (`0x1.8p1`,
/// underscores between digits allowed), `inf`/`infinity` with an optional
/// sign, or `nan`, the names in any case. `None` when the syntax is
/// wrong or the value overflows (Go's range error).
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    if let Some(v) = special(s) {
        return Some(v);
    }
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = if body.len() > 1 && (body.starts_with("0x") || body.starts_with("0X")) {
        hex_float(&body[2..])?
    } else {
        if !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    if magnitude.is_infinite() {
        return None;
    }
    Some(if negative { -magnitude } else { magnitude })
}

/// Go's `special`: the whole of `s` must be the name.
fn special(s: &str) -> Option<f64> {
    let (sign, name) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => {
            if s.eq_ignore_ascii_case("nan") {
                return Some(f64::NAN);
            }
            (1.0, s)
        }
    };
    if name.eq_ignore_ascii_case("inf") || name.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    None
}

/// The part of a hexadecimal float after `0x`: hex digits with an
/// optional `.`, then `p` and a decimal exponent. An underscore must sit
/// between two digits, or right after the `0x`.
fn hex_float(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    // The previous byte, to place underscores: `x` stands for the prefix.
    let mut prev = b'x';
    let mut sticky = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'_' => {
                if !(prev.is_ascii_hexdigit() || prev == b'x') {
                    return None;
                }
            }
            b'.' if !seen_dot => {
                if prev == b'_' {
                    return None;
                }
                seen_dot = true;
            }
            b if b.is_ascii_hexdigit() => {
                let d = (b as char).to_digit(16).expect("a hex digit") as u64;
                digits += 1;
                if mantissa >> 60 == 0 {
                    mantissa = mantissa * 16 + d;
                    if seen_dot {
                        exponent -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_dot {
                        exponent += 4;
                    }
                }
            }
            _ => break,
        }
        prev = b;
        i += 1;
    }
    if digits == 0 || prev == b'_' || i >= bytes.len() || !matches!(bytes[i], b'p' | b'P') {
        return None;
    }
    i += 1;
    let mut exp_negative = false;
    if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
        exp_negative = bytes[i] == b'-';
        i += 1;
    }
    let mut exp: i64 = 0;
    let mut exp_digits = 0;
    prev = b'p';
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'_' {
            if !prev.is_ascii_digit() {
                return None;
            }
        } else if b.is_ascii_digit() {
            exp = (exp * 10 + i64::from(b - b'0')).min(100_000);
            exp_digits += 1;
        } else {
            return None;
        }
        prev = b;
        i += 1;
    }
    if exp_digits == 0 || prev == b'_' {
        return None;
    }
    let exp = if exp_negative { -exp } else { exp };
    // A dropped nonzero digit only nudges the rounding.
    let m = (mantissa | u64::from(sticky)) as f64;
    Some(scale_by_power_of_two(m, exponent + exp))
}

/// `m * 2^e`, in steps that neither overflow nor underflow early.
fn scale_by_power_of_two(mut m: f64, mut e: i64) -> f64 {
    while e > 0 && m.is_finite() && m != 0.0 {
        let step = e.min(1000);
        m *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 && m != 0.0 {
        let step = (-e).min(1000);
        m /= 2f64.powi(step as i32);
        e += step;
    }
    m
}

/// The order bluge compares numbers in: the bits of the float, flipped so
/// that the integers sort as the floats do, except that `-0` sorts just
/// below `0` (and so does not equal it).
pub fn sortable(f: f64) -> i64 {
    let i = f.to_bits() as i64;
    if i < 0 { i ^ i64::MAX } else { i }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_special() {
        assert_eq!(parse_go_float("2"), Some(2.0));
        assert_eq!(parse_go_float("-2.5"), Some(-2.5));
        assert_eq!(parse_go_float("+.5"), Some(0.5));
        assert_eq!(parse_go_float("1."), Some(1.0));
        assert_eq!(parse_go_float("3e-2"), Some(0.03));
        assert_eq!(parse_go_float("Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("-infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_go_float("NaN").unwrap().is_nan());
        for bad in [
            "", ".", "e5", "1_000", "+nan", "infi", "1e400", "1 ", "0x", "0x1", "1,5", "--1",
            "-+1", "٣", "abc",
        ] {
            assert_eq!(parse_go_float(bad), None, "{bad}");
        }
    }

    #[test]
    fn hexadecimal() {
        assert_eq!(parse_go_float("0x1p1"), Some(2.0));
        assert_eq!(parse_go_float("0X1.8P1"), Some(3.0));
        assert_eq!(parse_go_float("-0x.8p0"), Some(-0.5));
        assert_eq!(parse_go_float("0x_1_0p-4"), Some(1.0));
        assert_eq!(parse_go_float("0x1p1_0"), Some(1024.0));
        for bad in [
            "0x1__0p0",
            "0x1_p0",
            "0xp1",
            "0x1p",
            "0x1p_1",
            "0x1p1_",
            "0x1.2.3p0",
        ] {
            assert_eq!(parse_go_float(bad), None, "{bad}");
        }
        assert_eq!(parse_go_float("0x1p2000"), None);
        assert_eq!(parse_go_float("0x1p-2000"), Some(0.0));
    }

    #[test]
    fn sortable_orders_as_bluge() {
        let values = [f64::MIN, -2.0, -0.5, -0.0, 0.0, 1e-300, 0.5, 2.0, f64::MAX];
        for pair in values.windows(2) {
            assert!(sortable(pair[0]) < sortable(pair[1]), "{pair:?}");
        }
    }
}
