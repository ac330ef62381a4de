//! The native side of `make bench`'s argon2id comparison: the median time of
//! the service's own password hash (m=19 MiB, t=2, p=1) on this machine.
//! Dependencies build at opt-level 3 even in the dev profile (Cargo.toml), so
//! `cargo run --example argon2_native` measures the optimised hash.
use std::time::Instant;

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(15);
    let mut ms: Vec<f64> = (0..runs)
        .map(|i| {
            let salt = [i as u8; 16];
            let started = Instant::now();
            let phc = latchkey::domain::password::hash("correct horse battery staple", &salt);
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            assert!(phc.is_ok(), "hashing failed");
            elapsed
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!("{:.1}", ms[ms.len() / 2]);
}
