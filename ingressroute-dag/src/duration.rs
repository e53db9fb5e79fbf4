//! Go durations: `time.ParseDuration` and `time.Duration.String()`.
//!
//! IngressRoute timeouts are Go duration strings (`1s`, `1m30s`, `250ms`), and Contour's
//! cluster names hash Go's rendering of health-check durations, so both directions must
//! match Go exactly.

use std::fmt;

/// Why a string is not a Go duration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// The string is empty or has no number where one is expected.
    Invalid,
    /// A number has no unit (`600`).
    MissingUnit,
    /// The unit is not one of `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`.
    UnknownUnit(String),
    /// The value does not fit in 64-bit nanoseconds (about 292 years).
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("invalid duration"),
            Self::MissingUnit => f.write_str("missing unit in duration"),
            Self::UnknownUnit(u) => write!(f, "unknown unit {u:?} in duration"),
            Self::Overflow => f.write_str("duration out of range"),
        }
    }
}

impl std::error::Error for DurationError {}

const OVERFLOW_LIMIT: u64 = 1 << 63;

/// Parses a Go duration string into signed nanoseconds, exactly as Go's
/// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or the bare `0`.
///
/// # Errors
///
/// Returns a [`DurationError`] when `s` is not a Go duration or overflows `i64`
/// nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i64, DurationError> {
    let mut rest = s;
    let mut negative = false;
    if let Some(r) = rest.strip_prefix('-') {
        negative = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(DurationError::Invalid);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let first = rest.as_bytes().first().copied().unwrap_or(b'x');
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(DurationError::Invalid);
        }
        // The integer part.
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(digits);
        let mut value: u64 = 0;
        for b in int_part.bytes() {
            if value > OVERFLOW_LIMIT / 10 {
                return Err(DurationError::Overflow);
            }
            value = value * 10 + u64::from(b - b'0');
            if value > OVERFLOW_LIMIT {
                return Err(DurationError::Overflow);
            }
        }
        rest = after;
        let had_int = digits > 0;
        // The fraction.
        let mut fraction: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut had_fraction = false;
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (frac_part, after) = rest.split_at(digits);
            let mut overflowed = false;
            for b in frac_part.bytes() {
                if overflowed {
                    continue;
                }
                if fraction > (OVERFLOW_LIMIT - 1) / 10 {
                    overflowed = true;
                    continue;
                }
                let next = fraction * 10 + u64::from(b - b'0');
                if next > OVERFLOW_LIMIT {
                    overflowed = true;
                    continue;
                }
                fraction = next;
                scale *= 10.0;
            }
            had_fraction = digits > 0;
            rest = after;
        }
        if !had_int && !had_fraction {
            return Err(DurationError::Invalid);
        }
        // The unit.
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let (unit, after) = rest.split_at(unit_len);
        rest = after;
        let unit_ns: u64 = match unit {
            "" => return Err(DurationError::MissingUnit),
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => return Err(DurationError::UnknownUnit(other.to_owned())),
        };
        if value > OVERFLOW_LIMIT / unit_ns {
            return Err(DurationError::Overflow);
        }
        value *= unit_ns;
        if fraction > 0 {
            // Go computes this in float64 and truncates.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let extra = (fraction as f64 * (unit_ns as f64 / scale)) as u64;
            value = value.checked_add(extra).ok_or(DurationError::Overflow)?;
            if value > OVERFLOW_LIMIT {
                return Err(DurationError::Overflow);
            }
        }
        total = total.checked_add(value).ok_or(DurationError::Overflow)?;
        if total > OVERFLOW_LIMIT {
            return Err(DurationError::Overflow);
        }
    }
    if negative {
        // -(1<<63) is representable.
        return Ok(0_i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).map_err(|_| DurationError::Overflow)
}

/// Renders signed nanoseconds like Go's `time.Duration.String()`: `2s`, `1m30s`,
/// `1h0m0s`, `1.5s`, `250ms`, `0s`.
#[must_use]
pub fn format_go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let negative = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: ns, µs or ms with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&format_fraction(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let frac_ns = u % 1_000_000_000;
        let hours = secs_total / 3600;
        let minutes = (secs_total % 3600) / 60;
        let secs = secs_total % 60;
        if hours > 0 {
            out.push_str(&format!("{hours}h{minutes}m"));
        } else if minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&format_fraction(secs * 1_000_000_000 + frac_ns, 1_000_000_000));
        out.push('s');
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

/// `value / div` with the non-zero fractional digits, Go style (`1.5`, `2`).
fn format_fraction(value: u64, div: u64) -> String {
    let int = value / div;
    let frac = value % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_to_nanoseconds() {
        assert_eq!(parse_go_duration("1s"), Ok(1_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_go_duration("10us"), Ok(10_000));
        assert_eq!(parse_go_duration("10µs"), Ok(10_000));
        assert_eq!(parse_go_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_go_duration("5.s"), Ok(5_000_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("0s"), Ok(0));
        assert_eq!(parse_go_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse_go_duration("+2s"), Ok(2_000_000_000));
    }

    #[test]
    fn things_go_rejects_are_rejected() {
        assert_eq!(parse_go_duration(""), Err(DurationError::Invalid));
        assert_eq!(parse_go_duration("600"), Err(DurationError::MissingUnit));
        assert_eq!(parse_go_duration("peanut"), Err(DurationError::Invalid));
        assert_eq!(parse_go_duration("infinity"), Err(DurationError::Invalid));
        assert_eq!(parse_go_duration("1d"), Err(DurationError::UnknownUnit("d".into())));
        assert_eq!(parse_go_duration("."), Err(DurationError::Invalid));
        assert_eq!(parse_go_duration("-"), Err(DurationError::Invalid));
        assert_eq!(parse_go_duration("1s "), Err(DurationError::UnknownUnit("s ".into())));
        assert_eq!(parse_go_duration("3000000h"), Err(DurationError::Overflow));
        assert_eq!(parse_go_duration("99999999999999999999s"), Err(DurationError::Overflow));
    }

    #[test]
    fn durations_render_like_go() {
        assert_eq!(format_go_duration(0), "0s");
        assert_eq!(format_go_duration(2_000_000_000), "2s");
        assert_eq!(format_go_duration(90_000_000_000), "1m30s");
        assert_eq!(format_go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(250_000_000), "250ms");
        assert_eq!(format_go_duration(1_500), "1.5µs");
        assert_eq!(format_go_duration(7), "7ns");
        assert_eq!(format_go_duration(-5_000_000_000), "-5s");
        assert_eq!(format_go_duration(10 * 3_600_000_000_000 + 1_000_000_000), "10h0m1s");
    }
}
