//! Two-factor authentication: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
//! step), the `otpauth://` enrolment URI and its QR code, the TOTP secret
//! sealed at rest (through [`super::sealed`], bound to its user), and
//! single-use recovery codes.
//!
//! Pure: no I/O, no clock, no randomness. Random bytes and the current unix
//! time come in as arguments, so every rule here is testable with fixed
//! inputs, and nothing reaches for `SystemTime::now()` (which panics on
//! wasm32).
use super::sealed::{Purpose, SealingKeys};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::QrCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// The issuer shown by authenticator apps, in the URI label and parameter.
pub const ISSUER: &str = "Latchkey";
/// Seconds per TOTP time step (RFC 6238 default, and what every app assumes).
pub const STEP_SECONDS: i64 = 30;
/// Digits in a TOTP code.
pub const DIGITS: usize = 6;
/// Bytes of CSPRNG output for a TOTP secret: 160 bits, the HMAC-SHA-1 output
/// size recommended by RFC 4226 section 4.
pub const SECRET_BYTES: usize = 20;
/// Bytes of CSPRNG output for the sealing nonce; a fresh nonce per seal.
pub const NONCE_BYTES: usize = super::sealed::NONCE_BYTES;
/// Bytes of CSPRNG output for one recovery code: 80 bits (we require ≥ 64).
pub const RECOVERY_CODE_BYTES: usize = 10;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// RFC 4648 base32 without padding, the alphabet authenticator apps expect
/// for secrets.
const SECRET_BASE32: base32::Alphabet = base32::Alphabet::Rfc4648 { padding: false };
/// Percent-encoding of everything but RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), so the result is safe in a URI path or query
/// whatever the input contains.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Characters per hyphen-separated group of a displayed recovery code.
const RECOVERY_GROUP: usize = 4;

/// What can go wrong in this module. None of these carry secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// A stored secret is malformed, was tampered with, was moved from
    /// another row, or was sealed under a key we do not hold. One variant
    /// for all: callers act the same way, and the distinction would only
    /// help someone probing the store.
    #[error("stored TOTP secret cannot be decrypted (malformed, tampered with, moved, or another key)")]
    Decrypt,
    /// The enrolment URI could not be encoded as a QR code.
    #[error("QR code cannot be rendered: {0}")]
    Qr(#[from] QrError),
}

/// A TOTP shared secret (160 bits). `Debug` never shows it.
#[derive(Clone)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl PartialEq for TotpSecret {
    /// Constant time, like every comparison of secret bytes.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TotpSecret {}

impl TotpSecret {
    /// A secret from [`SECRET_BYTES`] CSPRNG bytes supplied by the caller.
    pub fn random(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(bytes)
    }

    /// RFC 4648 base32 without padding (20 bytes → exactly 32 characters),
    /// for users who type the secret into their app instead of scanning.
    pub fn base32(&self) -> String {
        base32::encode(SECRET_BASE32, &self.0)
    }
}

/// The `otpauth://` URI that authenticator apps enrol from (Google's Key URI
/// format). The email is percent-encoded so `+`, `@` and friends survive
/// every app's parser; algorithm, digits and period are spelled out although
/// they are the defaults, because some apps ignore the defaults.
pub fn otpauth_uri(secret: &TotpSecret, account_email: &str) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        utf8_percent_encode(account_email, NOT_UNRESERVED),
        secret.base32()
    )
}

/// The enrolment URI as a QR code in SVG (at least 200×200 px, quiet zone
/// included), ready to inline in a page.
pub fn qr_svg(uri: &str) -> Result<String, TotpError> {
    let code = QrCode::new(uri.as_bytes())?;
    Ok(code.render::<svg::Color>().min_dimensions(200, 200).build())
}

/// The 6-digit code (zero-padded) of `secret` at `unix_time`. Times before
/// the epoch, which no real clock reports, are treated as the epoch.
pub fn code_at(secret: &TotpSecret, unix_time: i64) -> String {
    let step = unix_time.div_euclid(STEP_SECONDS);
    code_for_step(secret, u64::try_from(step).unwrap_or(0))
}

/// Checks `code` at time `now` and returns the time step it matched.
///
/// Accepts the code of step T-1, T or T+1 (T = floor(now / 30)), absorbing
/// clock drift and typing time, and only if that step is strictly later than
/// `last_step`, the step returned by this user's previous success. The caller
/// stores the returned step and passes it back next time, so an observed code
/// cannot be replayed, nor can an older code after a newer one.
///
/// Anything but exactly six ASCII digits is refused before any HMAC is
/// computed. Each candidate is compared in constant time, and all three are
/// computed regardless of an early match.
pub fn verify(secret: &TotpSecret, code: &str, now: i64, last_step: Option<i64>) -> Option<i64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_SECONDS);
    let mut matched = None;
    // `current` is at most i64::MAX / 30, so neither bound can overflow.
    for step in current - 1..=current + 1 {
        // Steps before the epoch have no code; already-used steps are replays.
        let Ok(counter) = u64::try_from(step) else { continue };
        if last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let candidate = code_for_step(secret, counter);
        if bool::from(candidate.as_bytes().ct_eq(code.as_bytes())) {
            // The latest matching step wins: on the (one in a million)
            // chance that two steps share a code, burning the later one
            // leaves no window for replaying it.
            matched = Some(step);
        }
    }
    matched
}

/// HOTP (RFC 4226) of `secret` at counter `step`, which is what RFC 6238
/// TOTP is with counter floor(t / 30). We pick the counter ourselves because
/// `TOTP::check` does not say which step matched, and replay protection
/// needs it; a totp-rs generator with a 1-second step and no skew computes
/// exactly HOTP(secret, step). `new_unchecked` because its checks (6–8
/// digits, ≥ 128-bit secret) hold by construction: 6 digits, 160 bits.
fn code_for_step(secret: &TotpSecret, step: u64) -> String {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, 1, secret.0.to_vec()).generate(step)
}

/// Seals a TOTP secret for `totp_credentials.secret_enc` of `user_id` (see
/// [`super::sealed`]), with the caller's fresh random `nonce`.
pub fn seal_secret(keys: &SealingKeys, user_id: &str, nonce: [u8; NONCE_BYTES], secret: &TotpSecret) -> String {
    keys.seal(Purpose::TotpSecret, user_id, nonce, &secret.0)
}

/// Opens what [`seal_secret`] sealed for `user_id` (or the format before it),
/// and whether it is stale (to be sealed again under the current key).
/// Anything that does not open, or opens to another length, is
/// [`TotpError::Decrypt`].
pub fn open_secret(keys: &SealingKeys, user_id: &str, stored: &str) -> Result<(TotpSecret, bool), TotpError> {
    let opened = keys.open(Purpose::TotpSecret, user_id, stored).map_err(|_| TotpError::Decrypt)?;
    let bytes: [u8; SECRET_BYTES] = opened.plaintext.as_slice().try_into().map_err(|_| TotpError::Decrypt)?;
    Ok((TotpSecret(bytes), opened.stale))
}

/// A single-use recovery code, shown to its owner once and stored only as
/// [`recovery_code_digest`]. Displayed as four hyphen-separated groups of
/// four characters from Crockford's lowercase base32 alphabet
/// (`0123456789abcdefghjkmnpqrstvwxyz`: no `i`, `l`, `o`, `u`), e.g.
/// `7k2m-q9xd-0c4v-hh3z`: 16 symbols × 5 bits = exactly the 80 random bits.
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    /// A code from [`RECOVERY_CODE_BYTES`] CSPRNG bytes supplied by the caller.
    pub fn random(bytes: [u8; RECOVERY_CODE_BYTES]) -> Self {
        // Crockford's base32, lowercase: digits then letters without `i`,
        // `l`, `o` and `u`, so no two symbols look alike when read aloud or
        // copied by hand. Normalisation folds the look-alikes back (`o` → `0`,
        // `i`/`l` → `1`), as Crockford's decoding rule does.
        let symbols = base32::encode(base32::Alphabet::Crockford, &bytes).to_ascii_lowercase();
        let mut code = String::with_capacity(symbols.len() + symbols.len() / RECOVERY_GROUP);
        for (i, c) in symbols.chars().enumerate() {
            if i > 0 && i % RECOVERY_GROUP == 0 {
                code.push('-');
            }
            code.push(c);
        }
        Self(code)
    }

    /// The code's text, to show its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest to store: [`recovery_code_digest`] of this code.
    pub fn digest(&self) -> String {
        recovery_code_digest(&self.0)
    }
}

/// Lowercase hex SHA-256 of the normalised code, for storage and lookup.
/// Normalisation lets users type a code as they like: surrounding and inner
/// whitespace and hyphens are dropped, letters lowercased, and Crockford's
/// look-alikes folded (`o` → `0`, `i` and `l` → `1`; generated codes never
/// contain `i`, `l` or `o`, so folding only forgives misreadings). A plain
/// hash suffices, unlike for passwords: the code carries 80 random bits.
pub fn recovery_code_digest(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6238 Appendix B SHA-1 key: ASCII "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::random(*b"12345678901234567890")
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        // The RFC's 8-digit values, truncated to their last 6 digits (the
        // 6-digit code is the same number mod 10^6).
        let cases = [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ];
        let secret = rfc_secret();
        for (time, expected) in cases {
            assert_eq!(code_at(&secret, time), expected, "t = {time}");
            let step = time.div_euclid(STEP_SECONDS);
            assert_eq!(verify(&secret, expected, time, None), Some(step), "t = {time}");
        }
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (input, expected) in cases {
            assert_eq!(base32::encode(SECRET_BASE32, input.as_bytes()), expected);
        }
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(TotpSecret::random([0xff; SECRET_BYTES]).base32(), "7".repeat(32));
    }

    // The hand-written encoders the crates replaced, kept as oracles: the
    // crates must answer exactly what they did for every input.
    const PREVIOUS_RFC4648_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const PREVIOUS_RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

    fn previous_base32(bytes: &[u8], alphabet: &[u8; 32]) -> String {
        let mut out = String::new();
        let (mut buffer, mut pending) = (0u16, 0u32);
        for &byte in bytes {
            buffer = (buffer << 8) | u16::from(byte);
            pending += 8;
            while pending >= 5 {
                pending -= 5;
                out.push(char::from(alphabet[usize::from((buffer >> pending) & 0x1f)]));
            }
        }
        if pending > 0 {
            out.push(char::from(alphabet[usize::from((buffer << (5 - pending)) & 0x1f)]));
        }
        out
    }

    fn previous_percent_encode(text: &str) -> String {
        let mut out = String::new();
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    #[test]
    fn the_crates_answer_what_the_hand_written_encoders_did_at_the_edges() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base32::encode(SECRET_BASE32, &all), previous_base32(&all, PREVIOUS_RFC4648_ALPHABET));
        let crockford = base32::encode(base32::Alphabet::Crockford, &all).to_ascii_lowercase();
        assert_eq!(crockford, previous_base32(&all, PREVIOUS_RECOVERY_ALPHABET));
        let every_char: String = (0u32..0x800).filter_map(char::from_u32).collect();
        assert_eq!(utf8_percent_encode(&every_char, NOT_UNRESERVED).to_string(), previous_percent_encode(&every_char));
        // RFC 3986 unreserved characters pass, `+` and `@` (the emails that
        // broke apps) and `*` (which form encoding leaves alone) do not.
        assert_eq!(utf8_percent_encode("aZ09-._~+@* ", NOT_UNRESERVED).to_string(), "aZ09-._~%2B%40%2A%20");
    }

    proptest::proptest! {
        #[test]
        fn base32_of_any_bytes_is_what_it_was(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            proptest::prop_assert_eq!(
                base32::encode(SECRET_BASE32, &bytes),
                previous_base32(&bytes, PREVIOUS_RFC4648_ALPHABET)
            );
            proptest::prop_assert_eq!(
                base32::encode(base32::Alphabet::Crockford, &bytes).to_ascii_lowercase(),
                previous_base32(&bytes, PREVIOUS_RECOVERY_ALPHABET)
            );
            let secret: [u8; SECRET_BYTES] = std::array::from_fn(|i| bytes.get(i).copied().unwrap_or(0));
            proptest::prop_assert_eq!(
                TotpSecret::random(secret).base32(),
                previous_base32(&secret, PREVIOUS_RFC4648_ALPHABET)
            );
        }

        #[test]
        fn percent_encoding_of_any_text_is_what_it_was(text in "\\PC*") {
            proptest::prop_assert_eq!(
                utf8_percent_encode(&text, NOT_UNRESERVED).to_string(),
                previous_percent_encode(&text)
            );
        }
    }

    #[test]
    fn window_accepts_one_step_either_side_and_no_more() {
        let secret = rfc_secret();
        let now = 1_111_111_111;
        let t = now / STEP_SECONDS;
        let codes: Vec<String> = (-2..=2).map(|k| code_at(&secret, (t + k) * STEP_SECONDS)).collect();
        // Otherwise a refusal below could pass or fail by coincidence.
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                assert_ne!(a, b, "fixture codes must differ");
            }
        }
        for (k, code) in (-2..=2).zip(&codes) {
            let expected = if k == -2 || k == 2 { None } else { Some(t + k) };
            assert_eq!(verify(&secret, code, now, None), expected, "step T{k:+}");
        }
        // The window follows the step boundaries of `now`, not `now` ± 30 s.
        let first_second = t * STEP_SECONDS;
        let last_second = first_second + STEP_SECONDS - 1;
        for now in [first_second, last_second] {
            assert_eq!(verify(&secret, &codes[1], now, None), Some(t - 1));
            assert_eq!(verify(&secret, &codes[3], now, None), Some(t + 1));
            assert_eq!(verify(&secret, &codes[0], now, None), None);
            assert_eq!(verify(&secret, &codes[4], now, None), None);
        }
        assert_eq!(verify(&secret, &codes[1], last_second + 1, None), None, "T-1 is T-2 one second later");
    }

    #[test]
    fn a_used_step_cannot_be_replayed() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let t = now / STEP_SECONDS;
        let code_t = code_at(&secret, now);
        let step = verify(&secret, &code_t, now, None);
        assert_eq!(step, Some(t));
        assert_eq!(verify(&secret, &code_t, now, step), None, "same code again");
        assert_eq!(verify(&secret, &code_t, now + 10, step), None, "same code, later in the step");
        assert_eq!(verify(&secret, &code_t, now, Some(t + 1)), None, "older than the last used");
        assert_eq!(verify(&secret, &code_t, now, Some(t - 1)), Some(t), "the previous step was used");
        let code_previous = code_at(&secret, now - STEP_SECONDS);
        assert_eq!(verify(&secret, &code_previous, now, step), None, "an older code after a newer one");
        let code_next = code_at(&secret, now + STEP_SECONDS);
        assert_eq!(verify(&secret, &code_next, now + STEP_SECONDS, step), Some(t + 1), "the next step");
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = rfc_secret();
        let now = 59;
        let good = code_at(&secret, now);
        assert_eq!(verify(&secret, &good, now, None), Some(1), "the fixture itself is accepted");
        let malformed = [
            "12345".to_owned(),
            "1234567".to_owned(),
            "12a456".to_owned(),
            " 123456".to_owned(),
            String::new(),
            format!(" {good}"),
            format!("{good} "),
            format!("{good}\n"),
            format!("0{good}"),
            good[..5].to_owned(),
            // Non-ASCII digits are not digits here.
            "２８７０８２".to_owned(),
        ];
        for code in &malformed {
            assert_eq!(verify(&secret, code, now, None), None, "{code:?}");
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let secret = rfc_secret();
        assert_eq!(code_at(&secret, 0), code_at(&secret, 29));
        assert_eq!(code_at(&secret, -1), code_at(&secret, 0), "before the epoch counts as the epoch");
        let code0 = code_at(&secret, 0);
        assert_eq!(verify(&secret, &code0, 0, None), Some(0));
        assert_eq!(verify(&secret, &code0, -30, None), Some(0), "step 0 is T+1 of step -1");
        assert_eq!(verify(&secret, &code0, -60, None), None, "no steps before the epoch");
        for now in [i64::MIN, -1, i64::MAX] {
            let _ = code_at(&secret, now);
            let _ = verify(&secret, "000000", now, None);
            let _ = verify(&secret, "000000", now, Some(i64::MAX));
        }
        let late = code_at(&secret, i64::MAX);
        assert_eq!(verify(&secret, &late, i64::MAX, None), Some(i64::MAX / STEP_SECONDS));
    }

    #[test]
    fn otpauth_uri_is_exact_and_escapes_the_email() {
        let uri = otpauth_uri(&rfc_secret(), "alice+2fa@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Latchkey:alice%2B2fa%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Latchkey&algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_uri(&rfc_secret(), "a b:c&d=é?#/x");
        assert!(odd.contains("Latchkey:a%20b%3Ac%26d%3D%C3%A9%3F%23%2Fx?secret="), "{odd}");
    }

    #[test]
    fn qr_code_is_an_svg_of_at_least_200_pixels() {
        let svg = qr_svg(&otpauth_uri(&rfc_secret(), "alice+2fa@example.com")).unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        let width: u32 = svg.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(width >= 200, "width {width}");
        // A different URI gives a different picture.
        assert_ne!(svg, qr_svg(&otpauth_uri(&rfc_secret(), "bob@example.com")).unwrap());
    }

    #[test]
    fn qr_code_of_an_oversized_uri_is_an_error() {
        assert!(matches!(qr_svg(&"x".repeat(5000)), Err(TotpError::Qr(_))));
    }

    #[test]
    fn sealed_secrets_round_trip_for_their_user_only() {
        let keys = SealingKeys::new(super::super::sealed::MasterKey::new([7; 32]), None);
        let secret = TotpSecret::random([42; SECRET_BYTES]);
        let stored = seal_secret(&keys, "usr_a", [1; NONCE_BYTES], &secret);
        assert!(!stored.contains(&secret.base32()));
        assert_eq!(open_secret(&keys, "usr_a", &stored), Ok((secret.clone(), false)));
        assert_ne!(stored, seal_secret(&keys, "usr_a", [2; NONCE_BYTES], &secret), "fresh nonce, fresh ciphertext");
        assert_eq!(open_secret(&keys, "usr_b", &stored), Err(TotpError::Decrypt), "another user's row");
        // A sealed value of another length (a webhook secret is 32 bytes) is refused.
        let long = keys.seal(Purpose::TotpSecret, "usr_a", [3; NONCE_BYTES], &[0; 32]);
        assert_eq!(open_secret(&keys, "usr_a", &long), Err(TotpError::Decrypt));
    }

    #[test]
    fn recovery_codes_have_the_documented_shape() {
        assert_eq!(RecoveryCode::random([0; RECOVERY_CODE_BYTES]).expose(), "0000-0000-0000-0000");
        assert_eq!(RecoveryCode::random([0xff; RECOVERY_CODE_BYTES]).expose(), "zzzz-zzzz-zzzz-zzzz");
        // 0x00 0x44 0x32 0x14 0xc7 0x42 0x54 0xb6 0x35 0xcf → the 16 symbols
        // 0..=15 in order: every 5-bit group lands where it should.
        let counting = [0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf];
        assert_eq!(RecoveryCode::random(counting).expose(), "0123-4567-89ab-cdef");
        for seed in 0..=255u8 {
            let code = RecoveryCode::random([seed.wrapping_mul(37); RECOVERY_CODE_BYTES]);
            let text = code.expose();
            assert_eq!(text.len(), 19);
            for (i, c) in text.chars().enumerate() {
                if i % 5 == 4 {
                    assert_eq!(c, '-', "{text}");
                } else {
                    assert!(PREVIOUS_RECOVERY_ALPHABET.contains(&(c as u8)), "{text}");
                    assert!(!matches!(c, 'i' | 'l' | 'o' | 'u'), "{text}");
                }
            }
        }
    }

    #[test]
    fn recovery_code_digest_normalises_input() {
        let d = recovery_code_digest("abcdefghij");
        assert_eq!(d.len(), 64);
        assert!(d.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "lowercase hex");
        assert_eq!(d, hex::encode(Sha256::digest(b"abcdefgh1j")), "SHA-256 of the normalised text");
        assert_eq!(recovery_code_digest("ABCDE-FGHIJ"), d);
        assert_eq!(recovery_code_digest("  abcde fghij\n"), d);
        assert_eq!(recovery_code_digest("a-b-c-d-e-f-g-h-i-j"), d);
        assert_eq!(recovery_code_digest("ABCDEFGHLJ"), d, "l and i are both read as 1");
        assert_eq!(recovery_code_digest("0000-0000"), recovery_code_digest("oOoO oooo"), "o is read as 0");
        assert_ne!(recovery_code_digest("abcdefghik"), d);
        assert_ne!(recovery_code_digest(""), d);

        let code = RecoveryCode::random([9; RECOVERY_CODE_BYTES]);
        assert_eq!(code.digest(), recovery_code_digest(code.expose()));
        assert_eq!(code.digest(), recovery_code_digest(&code.expose().to_uppercase().replace('-', "")));
    }

    #[test]
    fn distinct_random_inputs_give_distinct_recovery_codes() {
        let codes: Vec<RecoveryCode> = (0..RECOVERY_CODES)
            .map(|i| {
                let mut bytes = [0u8; RECOVERY_CODE_BYTES];
                // Inputs differing in one byte only, at varying positions.
                bytes[i % RECOVERY_CODE_BYTES] = 1 + i as u8;
                RecoveryCode::random(bytes)
            })
            .collect();
        assert_eq!(codes.len(), 10);
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                assert_ne!(a.expose(), b.expose());
                assert_ne!(a.digest(), b.digest());
            }
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let secret = rfc_secret();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "TotpSecret(<redacted>)");
        assert!(!shown.contains(&secret.base32()));
        let code = RecoveryCode::random([3; RECOVERY_CODE_BYTES]);
        let shown = format!("{code:?}");
        assert_eq!(shown, "RecoveryCode(<redacted>)");
        assert!(!shown.contains(code.expose()));
        // Errors, which end up in logs, carry no secret material either.
        let keys = SealingKeys::new(super::super::sealed::MasterKey::new([0; 32]), None);
        let err = open_secret(&keys, "usr_a", "AAAA").unwrap_err();
        assert!(!format!("{err:?} {err}").contains("AAAA"));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert_eq!(rfc_secret(), rfc_secret());
        assert_ne!(rfc_secret(), TotpSecret::random([0; SECRET_BYTES]));
    }
}
