//! Keyset pagination: `?limit=` (1..=100, default 50) and an opaque cursor.
use crate::domain::FieldError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// A requested page: at most `limit` items after `after` (a sort key and an id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page.
    pub limit: i64,
    /// The (sort key, id) of the last item of the previous page.
    pub after: Option<(i64, String)>,
}

impl PageRequest {
    /// Parses `limit` and `cursor` query values.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, FieldError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(FieldError::new("limit", "out_of_range", "must be an integer from 1 to 100")),
            },
        };
        let after = match cursor {
            None | Some("") => None,
            Some(raw) => Some(
                decode_cursor(raw)
                    .ok_or_else(|| FieldError::new("cursor", "invalid_cursor", "is not a cursor this API issued"))?,
            ),
        };
        Ok(Self { limit, after })
    }

    /// The page's SQL parameters: sort key, id and `limit + 1` (one extra row tells whether more follow).
    pub fn sql_params(&self) -> (Option<i64>, Option<String>, i64) {
        match &self.after {
            Some((k, id)) => (Some(*k), Some(id.clone()), self.limit + 1),
            None => (None, None, self.limit + 1),
        }
    }

    /// Cuts the extra row off and returns the next cursor if there was one.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> (i64, String)) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(|last| encode_cursor(&key(last)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

fn encode_cursor((k, id): &(i64, String)) -> String {
    URL_SAFE_NO_PAD.encode(format!("{k}|{id}"))
}

fn decode_cursor(raw: &str) -> Option<(i64, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (k, id) = text.split_once('|')?;
    Some((k.parse().ok()?, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_1_to_100_are_refused() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert_eq!(PageRequest::parse(Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "abc", ""] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let page = PageRequest::parse(Some("2"), None).unwrap();
        let (rows, next) = page.finish(vec![(3, "c"), (2, "b"), (1, "a")], |r| (r.0, r.1.to_owned()));
        assert_eq!(rows.len(), 2);
        let next_page = PageRequest::parse(Some("2"), next.as_deref()).unwrap();
        assert_eq!(next_page.after, Some((2, "b".to_owned())));
        assert!(PageRequest::parse(None, Some("!!!")).is_err());
    }
}
