//! Access reviews: who has been inactive for how long, a day's date, and the
//! review's CSV (RFC 4180, safe to open in a spreadsheet).
use super::time::DAY;
use super::FieldError;

/// Longest inactivity filter, in days (ten years).
pub const MAX_INACTIVE_DAYS: i64 = 3650;

/// `inactive_for_days`: members whose last activity is older than this many
/// days, or who were never active. 1..=3650.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InactiveFor(i64);

impl InactiveFor {
    /// Parses the query parameter: a whole number of days, 1..=3650.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.parse::<i64>() {
            Ok(days) if (1..=MAX_INACTIVE_DAYS).contains(&days) => Ok(Self(days)),
            _ => Err(FieldError::new(
                "inactive_for_days",
                "invalid_inactive_for_days",
                format!("must be a whole number of days, 1 to {MAX_INACTIVE_DAYS}"),
            )),
        }
    }

    /// The days.
    pub fn days(self) -> i64 {
        self.0
    }

    /// The instant before which a last activity counts as inactive, at `now`.
    pub fn cutoff(self, now: i64) -> i64 {
        now - self.0 * DAY
    }
}

/// Unix seconds as a UTC calendar day (`2026-12-06`): last activity is shown
/// to the day, no finer.
pub fn day(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0).map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// One CSV cell: a cell a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`
/// (OWASP's CSV injection advice); then RFC 4180 quoting: a cell holding a
/// comma, a double quote or a line break is quoted, its quotes doubled.
pub fn csv_cell(raw: &str) -> String {
    let defused;
    let text = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        defused = format!("'{raw}");
        defused.as_str()
    } else {
        raw
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A CSV document: a header row and the rows, each line ended by CRLF.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &mut dyn Iterator<Item = String>| cells.collect::<Vec<_>>().join(",") + "\r\n";
    let mut out = line(&mut header.iter().map(|h| csv_cell(h)));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(|c| csv_cell(c))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_for_days_is_a_whole_number_of_days_within_ten_years() {
        for (raw, ok, why) in [
            ("1", true, "a day"),
            ("90", true, "the console's longest choice"),
            ("3650", true, "ten years"),
            ("0", false, "zero would list everyone active today"),
            ("3651", false, "over ten years"),
            ("-5", false, "negative"),
            ("1.5", false, "not whole"),
            ("", false, "empty"),
            ("30d", false, "units"),
        ] {
            assert_eq!(InactiveFor::parse(raw).is_ok(), ok, "{why}");
        }
        let thirty = InactiveFor::parse("30").unwrap();
        assert_eq!(thirty.cutoff(100 * DAY), 70 * DAY);
        assert_eq!(InactiveFor::parse("x").unwrap_err().field, "inactive_for_days");
    }

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_795_455_000), "2026-11-23");
        assert_eq!(day(1_795_455_000 - 17 * 3600 - 30 * 60 - 1), "2026-11-22", "a second before midnight UTC");
    }

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        let cases = [
            ("plain", "plain", "nothing to quote"),
            ("", "", "empty"),
            ("Smith, Jane", "\"Smith, Jane\"", "a comma"),
            ("say \"hi\"", "\"say \"\"hi\"\"\"", "quotes doubled"),
            ("two\nlines", "\"two\nlines\"", "a line feed"),
            ("cr\rhere", "\"cr\rhere\"", "a carriage return"),
            ("O'Brien", "O'Brien", "an apostrophe is plain"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(csv_cell(raw), want, "{why}");
        }
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_defused() {
        let cases = [
            ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"", "a formula, quoted too"),
            ("+1", "'+1", "plus"),
            ("-2+3", "'-2+3", "minus"),
            ("@SUM(A1)", "'@SUM(A1)", "at"),
            ("\t=1", "'\t=1", "a tab first"),
            ("\r=1", "\"'\r=1\"", "a carriage return first, quoted"),
            ("a=b", "a=b", "only the first character counts"),
            ("2026-12-06", "2026-12-06", "dates are plain"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(csv_cell(raw), want, "{why}");
        }
    }

    #[test]
    fn a_document_is_a_header_and_rows_with_crlf() {
        let doc = csv(&["kind", "name"], &[vec!["member".into(), "Doe, J".into()], vec!["api_key".into(), "".into()]]);
        assert_eq!(doc, "kind,name\r\nmember,\"Doe, J\"\r\napi_key,\r\n");
    }
}
