//! One argon2id hash with the service's parameters (m=19 MiB, t=2, p=1), as
//! an export a bare WebAssembly instance can call.
use argon2::{Algorithm, Argon2, Params, Version};

/// Hashes a fixed password with a salt from `seed`; returns a byte of the
/// output (so the work cannot be optimised away), or 0 on a parameter error.
#[no_mangle]
pub extern "C" fn run(seed: u32) -> u32 {
    let Ok(params) = Params::new(19 * 1024, 2, 1, Some(32)) else { return 0 };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    match argon.hash_password_into(b"correct horse battery staple", &[seed as u8; 16], &mut out) {
        Ok(()) => u32::from(out[0]) | 0x100,
        Err(_) => 0,
    }
}
