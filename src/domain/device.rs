//! The OAuth 2.0 Device Authorization Grant (RFC 8628): the user code's
//! alphabet, format and normalisation, the client name, and the polling
//! state machine (`authorization_pending`, `slow_down` with a growing
//! interval, `expired_token`, `access_denied`, redemption).
//!
//! The SQL of `store::sql::device` applies the same transitions in its
//! guarded statements; `app::device` reads the state as it was before them
//! (same batch) and answers with [`poll`].
use super::FieldError;

/// RFC 8628 §6.1's alphabet: 20 consonants, no vowels (no words), none
/// easily confused.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code: 20^8 ≈ 2^34.6.
pub const USER_CODE_LEN: usize = 8;
/// Seconds a request lives (`expires_in`).
pub const EXPIRES_IN: i64 = 600;
/// The first polling interval, seconds (`interval`).
pub const INTERVAL: i64 = 5;
/// What each `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;
/// The client name when the request names none.
pub const DEFAULT_CLIENT_NAME: &str = "Latchkey CLI";
/// The longest client name, in characters.
pub const CLIENT_NAME_MAX: usize = 64;

/// A user code: 8 letters of [`USER_CODE_ALPHABET`], shown `XXXX-XXXX`.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserCode(<redacted>)")
    }
}

impl UserCode {
    /// Draws a code from CSPRNG bytes without modulo bias: a byte is used
    /// only below 240 (12 × 20), so each letter is equally likely. `None`
    /// when fewer than 8 of the 32 bytes qualify (probability ~1e-19): the
    /// caller draws again.
    pub fn from_random(bytes: &[u8; 32]) -> Option<Self> {
        const N: u8 = USER_CODE_ALPHABET.len() as u8;
        const LIMIT: u8 = (256 / N as u16 * N as u16) as u8; // 240
        let letters: String = bytes
            .iter()
            .filter(|b| **b < LIMIT)
            .take(USER_CODE_LEN)
            .map(|b| USER_CODE_ALPHABET[usize::from(b % N)] as char)
            .collect();
        (letters.len() == USER_CODE_LEN).then_some(Self(letters))
    }

    /// A code as a person typed it: case-insensitive, with or without the
    /// hyphen, spaces anywhere. Anything else (another letter, a digit, a
    /// wrong length) is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 64 {
            return None;
        }
        let letters: String =
            raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
        let ok = letters.len() == USER_CODE_LEN && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        ok.then_some(Self(letters))
    }

    /// The 8 letters, no hyphen: what the stored digest is of.
    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// `XXXX-XXXX`, as shown to people.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

/// The client name a request gives: trimmed, 1 to 64 characters, no
/// control characters; absent means [`DEFAULT_CLIENT_NAME`].
pub fn client_name(raw: Option<&str>) -> Result<String, FieldError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_CLIENT_NAME.to_owned());
    };
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > CLIENT_NAME_MAX {
        return Err(FieldError::new("client_name", "invalid_length", "must be 1 to 64 characters"));
    }
    if name.chars().any(|c| {
        c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err(FieldError::new("client_name", "invalid_characters", "must be printable characters"));
    }
    Ok(name.to_owned())
}

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a person.
    Pending,
    /// Approved; the next timely poll redeems it.
    Approved,
    /// Denied in the console.
    Denied,
    /// Redeemed for a session (spent).
    Redeemed,
}

impl Status {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Redeemed => "redeemed",
        }
    }

    /// From the stored spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        [Status::Pending, Status::Approved, Status::Denied, Status::Redeemed].into_iter().find(|s| s.as_str() == raw)
    }
}

/// A device authorization as a poll finds it (before the poll changes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollState {
    /// Its status.
    pub status: Status,
    /// The current interval, seconds.
    pub interval: i64,
    /// The previous poll, if any (the first poll may come at once).
    pub last_polled_at: Option<i64>,
    /// Its end.
    pub expires_at: i64,
}

/// What a poll answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Approved and polled in time: the session is issued, once.
    Redeem,
    /// 400 `authorization_pending`.
    Pending,
    /// 400 `slow_down`: polled sooner than the interval, which grows to this.
    SlowDown {
        /// The new interval, seconds.
        interval: i64,
    },
    /// 400 `expired_token`.
    Expired,
    /// 400 `access_denied`.
    Denied,
    /// 400 `invalid_token`: unknown or already redeemed.
    Invalid,
}

/// Whether a poll at `now` comes sooner than `interval` after the previous one.
pub fn too_soon(last_polled_at: Option<i64>, interval: i64, now: i64) -> bool {
    last_polled_at.is_some_and(|last| now < last + interval)
}

/// The answer to a poll at `now` of the authorization in `state` (`None`:
/// no such device code). In order: unknown or spent; expired; too soon
/// (the interval grows, whatever the status); denied; pending; approved.
pub fn poll(state: Option<&PollState>, now: i64) -> Poll {
    let Some(s) = state else { return Poll::Invalid };
    if s.status == Status::Redeemed {
        return Poll::Invalid;
    }
    if now >= s.expires_at {
        return Poll::Expired;
    }
    if too_soon(s.last_polled_at, s.interval, now) {
        return Poll::SlowDown { interval: s.interval + SLOW_DOWN_STEP };
    }
    match s.status {
        Status::Denied => Poll::Denied,
        Status::Pending => Poll::Pending,
        Status::Approved => Poll::Redeem,
        Status::Redeemed => Poll::Invalid,
    }
}

/// The state after a poll at `now` (what the SQL writes): the poll time is
/// kept and a too-soon poll grows the interval; a redemption spends it.
/// Unknown, spent and expired authorizations do not change.
pub fn after_poll(state: &PollState, now: i64) -> PollState {
    match poll(Some(state), now) {
        Poll::Invalid | Poll::Expired => *state,
        Poll::Redeem => PollState { status: Status::Redeemed, last_polled_at: Some(now), ..*state },
        Poll::SlowDown { interval } => PollState { interval, last_polled_at: Some(now), ..*state },
        Poll::Pending | Poll::Denied => PollState { last_polled_at: Some(now), ..*state },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_only_the_alphabet_and_show_as_two_groups() {
        let code = UserCode::from_random(&[7u8; 32]).unwrap();
        assert_eq!(code.canonical().len(), 8);
        assert!(code.canonical().bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        let shown = code.display();
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 % 251) as u8);
        let code = UserCode::from_random(&bytes).unwrap();
        assert!(code.canonical().bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{}", code.display());
    }

    #[test]
    fn bytes_at_or_above_240_are_skipped_so_letters_are_unbiased() {
        // 240..=255 would make the first 16 letters likelier: they are never used.
        let mut bytes = [250u8; 32];
        for (i, b) in bytes.iter_mut().enumerate().skip(24) {
            *b = i as u8; // 24..=31
        }
        let code = UserCode::from_random(&bytes).unwrap();
        let expected: String = (24..32u8).map(|i| USER_CODE_ALPHABET[usize::from(i % 20)] as char).collect();
        assert_eq!(code.canonical(), expected);
        assert!(UserCode::from_random(&[240u8; 32]).is_none());
        // Each letter is reached by exactly 12 byte values.
        let mut counts = [0u32; 20];
        for b in 0..=255u8 {
            let mut bytes = [b; 32];
            bytes[8..].fill(240);
            if let Some(c) = UserCode::from_random(&bytes) {
                let i = USER_CODE_ALPHABET.iter().position(|l| *l == c.canonical().as_bytes()[0]).unwrap();
                counts[i] += 1;
            }
        }
        assert!(counts.iter().all(|c| *c == 12), "{counts:?}");
    }

    #[test]
    fn typed_codes_are_accepted_in_any_case_with_or_without_hyphen_or_spaces() {
        let want = UserCode::parse("BCDF-GHJK").unwrap();
        for typed in ["BCDFGHJK", "bcdf-ghjk", " bcdf ghjk ", "Bc Df-Gh Jk", "b-c-d-f-g-h-j-k", "\tBCDF\nGHJK"] {
            assert_eq!(UserCode::parse(typed), Some(want.clone()), "{typed:?}");
        }
        assert_eq!(want.display(), "BCDF-GHJK");
        assert_eq!(want.canonical(), "BCDFGHJK");
    }

    #[test]
    fn other_letters_digits_and_lengths_are_refused() {
        for typed in ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-GHJK", "BCDF-GHJ1", "BCDF_GHJK", "BCDF-GHJÉ", &"B".repeat(80)]
        {
            assert!(UserCode::parse(typed).is_none(), "{typed:?}");
        }
        // Vowels and Y are not in the alphabet.
        for vowel in ['A', 'E', 'I', 'O', 'U', 'Y'] {
            assert!(UserCode::parse(&format!("BCD{vowel}GHJK")).is_none(), "{vowel}");
        }
    }

    #[test]
    fn client_names_are_trimmed_bounded_and_printable() {
        assert_eq!(client_name(None).unwrap(), "Latchkey CLI");
        assert_eq!(client_name(Some("  my laptop ")).unwrap(), "my laptop");
        assert_eq!(client_name(Some(&"é".repeat(64))).unwrap().chars().count(), 64);
        assert_eq!(client_name(Some(&"x".repeat(65))).unwrap_err().code, "invalid_length");
        assert_eq!(client_name(Some("   ")).unwrap_err().code, "invalid_length");
        assert_eq!(client_name(Some("a\u{7}b")).unwrap_err().code, "invalid_characters");
        assert_eq!(client_name(Some("evil\u{202E}txt")).unwrap_err().code, "invalid_characters");
    }

    fn state(status: Status, last: Option<i64>, interval: i64) -> PollState {
        PollState { status, interval, last_polled_at: last, expires_at: 1_600 }
    }

    #[test]
    fn a_pending_request_answers_pending_when_polled_in_time() {
        assert_eq!(poll(Some(&state(Status::Pending, None, 5)), 1_000), Poll::Pending);
        assert_eq!(poll(Some(&state(Status::Pending, Some(995), 5)), 1_000), Poll::Pending);
        assert_eq!(poll(None, 1_000), Poll::Invalid);
    }

    #[test]
    fn polling_too_soon_grows_the_interval_by_five_each_time() {
        let mut s = state(Status::Pending, None, INTERVAL);
        assert_eq!(poll(Some(&s), 1_000), Poll::Pending);
        s = after_poll(&s, 1_000);
        assert_eq!(poll(Some(&s), 1_004), Poll::SlowDown { interval: 10 });
        s = after_poll(&s, 1_004);
        assert_eq!((s.interval, s.last_polled_at), (10, Some(1_004)));
        // The interval counts from the last poll, and the slow poll counts as one.
        assert_eq!(poll(Some(&s), 1_013), Poll::SlowDown { interval: 15 });
        s = after_poll(&s, 1_013);
        assert_eq!(poll(Some(&s), 1_028), Poll::Pending);
        s = after_poll(&s, 1_028);
        assert_eq!(s.interval, 15, "the interval never shrinks back");
        // Approval does not excuse a hurried poll.
        s.status = Status::Approved;
        assert_eq!(poll(Some(&s), 1_030), Poll::SlowDown { interval: 20 });
        assert_eq!(poll(Some(&s), 1_043), Poll::Redeem);
    }

    #[test]
    fn denied_expired_and_redeemed_requests_answer_so() {
        assert_eq!(poll(Some(&state(Status::Denied, None, 5)), 1_000), Poll::Denied);
        assert_eq!(poll(Some(&state(Status::Approved, None, 5)), 1_000), Poll::Redeem);
        assert_eq!(poll(Some(&state(Status::Approved, None, 5)), 1_600), Poll::Expired);
        assert_eq!(poll(Some(&state(Status::Pending, Some(1_599), 5)), 1_600), Poll::Expired);
        assert_eq!(poll(Some(&state(Status::Redeemed, None, 5)), 1_000), Poll::Invalid);
        assert_eq!(poll(Some(&state(Status::Redeemed, None, 5)), 9_999), Poll::Invalid);
    }

    #[test]
    fn a_redemption_spends_the_request_and_expiry_changes_nothing() {
        let s = state(Status::Approved, None, 5);
        let after = after_poll(&s, 1_000);
        assert_eq!(after.status, Status::Redeemed);
        assert_eq!(poll(Some(&after), 1_010), Poll::Invalid);
        let late = state(Status::Pending, Some(1_000), 5);
        assert_eq!(after_poll(&late, 1_700), late);
    }

    #[test]
    fn statuses_round_trip_their_stored_spelling() {
        for s in [Status::Pending, Status::Approved, Status::Denied, Status::Redeemed] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("expired"), None);
    }
}
