//! Timestamps: unix seconds inside, RFC 3339 UTC on the wire.

/// Seconds in a minute, hour and day, for readable lifetimes.
pub const MINUTE: i64 = 60;
/// Seconds in an hour.
pub const HOUR: i64 = 60 * MINUTE;
/// Seconds in a day.
pub const DAY: i64 = 24 * HOUR;

/// Formats unix seconds as RFC 3339 UTC (`2026-11-23T17:29:56Z`).
pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_455_000), "2026-11-23T17:30:00Z");
    }
}
