//! The native side: median process CPU time of one hash.
fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(15);
    let mut ms: Vec<f64> = (0..n)
        .map(|i| {
            let started = cpu_seconds();
            assert_ne!(std::hint::black_box(argon2_v8::run(i)), 0, "hashing failed");
            (cpu_seconds() - started) * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!("{:.1}", ms[ms.len() / 2]);
}

/// CLOCK_PROCESS_CPUTIME_ID (Linux).
fn cpu_seconds() -> f64 {
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut [i64; 2]) -> i32;
    }
    let mut ts = [0i64; 2];
    // SAFETY: clock_gettime writes one timespec (two 64-bit words on x86_64 Linux).
    unsafe { clock_gettime(2, &mut ts) };
    ts[0] as f64 + ts[1] as f64 * 1e-9
}
