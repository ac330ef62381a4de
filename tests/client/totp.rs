//! RFC 6238 codes computed independently of the service, for the native
//! (tests/testapp) and runtime (tests/support) harnesses alike, through
//! tests/client (and the browser scenario of the settings page asks for it).
#![allow(clippy::unwrap_used)]

/// The RFC 6238 code of a base32 secret at `at`, computed independently of the service.
pub fn totp_code(secret_b32: &str, at: i64) -> String {
    use hmac::{Hmac, Mac};
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_b32)
        .unwrap_or_else(|| panic!("not RFC 4648 base32: {secret_b32:?}"));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&secret).unwrap();
    mac.update(&((at / 30) as u64).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0xf) as usize;
    let v =
        (u32::from(h[o] & 0x7f) << 24) | (u32::from(h[o + 1]) << 16) | (u32::from(h[o + 2]) << 8) | u32::from(h[o + 3]);
    format!("{:06}", v % 1_000_000)
}
