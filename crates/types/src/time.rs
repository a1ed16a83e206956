//! Wall-clock timestamps as RFC 3339 UTC strings (`2026-11-23T05:01:02.123Z`), without a date
//! library: the conversion is the civil-from-days algorithm, exact for the proleptic Gregorian
//! calendar.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

/// Milliseconds since the Unix epoch, shown as RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn now() -> Self {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Timestamp(ms)
    }

    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d.as_millis() as u64))
    }

    /// Time from `self` until `later` (zero if `later` is earlier).
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0))
    }

    /// Parses the format [`fmt::Display`] writes (also accepts no fraction).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || !s.ends_with('Z') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| b[i] != c) || mo == 0 || mo > 12 || d == 0 || d > 31 {
            return None;
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let frac = &s[19..s.len() - 1];
        let ms = match frac {
            "" => 0,
            f if f.len() == 4 && f.starts_with('.') => f[1..].parse::<u64>().ok()?,
            _ => return None,
        };
        let days = days_from_civil(y as i64, mo as u32, d as u32);
        let secs = days.checked_mul(86_400)? + (h * 3600 + mi * 60 + sec) as i64;
        u64::try_from(secs).ok().map(|s| Timestamp(s * 1000 + ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = (self.0 / 1000) as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, self.0 % 1000)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| D::Error::custom(format!("not an RFC 3339 UTC time: {s}")))
    }
}

// Howard Hinnant's algorithms, http://howardhinnant.github.io/date_algorithms.html
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z, a leap day.
        assert_eq!(Timestamp(1_709_210_096_789).to_string(), "2024-02-29T12:34:56.789Z");
        assert_eq!(Timestamp::parse("2024-02-29T12:34:56.789Z"), Some(Timestamp(1_709_210_096_789)));
        assert_eq!(Timestamp::parse("2024-02-29T12:34:56Z"), Some(Timestamp(1_709_210_096_000)));
    }

    #[test]
    fn round_trips_across_centuries() {
        let mut t = 0u64;
        while t < 8_000_000_000_000 {
            let ts = Timestamp(t);
            assert_eq!(Timestamp::parse(&ts.to_string()), Some(ts), "{ts}");
            t += 86_399_999 * 37;
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "2024-02-29", "2024-13-01T00:00:00Z", "2024-02-29 12:34:56Z", "x024-02-29T12:34:56Z"] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
