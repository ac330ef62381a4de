//! When the queue tries a failed email again: exponential backoff with jitter,
//! long enough in total that a mail API outage of six hours loses nothing.
//!
//! Cloudflare Queues let a consumer delay a retry by up to 12 hours and retry a
//! message up to 100 times; `message.attempts` counts deliveries from 1. The
//! delay after delivery `n` is `base · 2^(n-1)` seconds, capped at 12 hours,
//! with "equal jitter": the first half of that step is fixed and the second
//! half random. The fixed half gives the schedule a floor, so the tests below
//! can prove a minimum total wait; the random half spreads the retries of many
//! messages that failed together, so a recovering mail API is not hit by all of
//! them in the same second.
use crate::app::{random, Rng};

pub use crate::app::config::{
    MAIL_RETRY_DEFAULT_BASE_SECONDS as DEFAULT_BASE_SECONDS, MAIL_RETRY_MAX_DELAY_SECONDS as MAX_DELAY_SECONDS,
};

/// `max_retries` of both consumers in `wrangler.manage.toml` (a test keeps them in
/// step). With the default base, 14 retries wait at least 40,958 s (11.4 h)
/// and at most 81,915 s (22.8 h) in total: a 6-hour outage is survived with
/// room to spare, and a message still reaches the dead-letter queue within a
/// day, well inside the queue's 4-day retention.
pub const MAX_RETRIES: u32 = 14;
const _: () = assert!(MAX_RETRIES <= 100, "Cloudflare Queues allow at most 100 retries");

/// The delay in seconds before the next delivery of a message whose delivery
/// number `attempt` (1 for the first) just failed. `random` is uniform over
/// `u32` and picks the point within the jittered half of the step. `attempt` 0
/// (unknown) counts as 1. Never more than [`MAX_DELAY_SECONDS`], never less
/// than 1 s.
pub fn retry_delay_seconds(base_seconds: u32, attempt: u32, random: u32) -> u32 {
    let doublings = attempt.max(1) - 1;
    let step = if doublings >= 32 {
        u64::from(MAX_DELAY_SECONDS)
    } else {
        (u64::from(base_seconds.max(1)) << doublings).min(u64::from(MAX_DELAY_SECONDS))
    };
    jittered(step, random)
}

/// "Equal jitter" over one step (capped at [`MAX_DELAY_SECONDS`]): the
/// first half fixed, the second half picked by `random` (uniform over
/// `u32`); at least 1 s. Shared by the email backoff and the webhook schedule.
pub fn jittered(step: u64, random: u32) -> u32 {
    let step = step.clamp(1, u64::from(MAX_DELAY_SECONDS));
    let fixed = step.div_ceil(2);
    let jitter = (step - fixed) * u64::from(random) / u64::from(u32::MAX);
    // `fixed + jitter <= step <= MAX_DELAY_SECONDS`, so this always fits.
    u32::try_from(fixed + jitter).unwrap_or(MAX_DELAY_SECONDS)
}

/// [`retry_delay_seconds`] with the jitter drawn from `rng`. Without
/// randomness (the CSPRNG failing) the step's midpoint is used: a retry is
/// still scheduled, only without spread.
pub fn next_retry_delay(rng: &dyn Rng, base_seconds: u32, attempt: u32) -> u32 {
    let random = random::<4>(rng).map_or(u32::MAX / 2, u32::from_le_bytes);
    retry_delay_seconds(base_seconds, attempt, random)
}

/// The total of the delays before the last of `retries` retries in the worst
/// case (every jitter at its minimum): how long an outage the queue rides out.
pub fn minimum_total_wait(base_seconds: u32, retries: u32) -> u64 {
    (1..=retries).map(|attempt| u64::from(retry_delay_seconds(base_seconds, attempt, 0))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppError;

    const HOUR: u64 = 3600;

    #[test]
    fn each_retry_waits_twice_as_long_as_the_one_before_within_its_jitter() {
        // (attempt, least, most, why)
        let cases = [
            (1, 3, 5, "the first retry rides out a blip"),
            (2, 5, 10, "then it doubles"),
            (3, 10, 20, "and doubles"),
            (10, 1280, 2560, "about half an hour by the tenth"),
            (14, 20480, 40960, "the last retry of the default schedule"),
        ];
        for (attempt, least, most, why) in cases {
            assert_eq!(retry_delay_seconds(DEFAULT_BASE_SECONDS, attempt, 0), least, "{why}: least");
            assert_eq!(retry_delay_seconds(DEFAULT_BASE_SECONDS, attempt, u32::MAX), most, "{why}: most");
            let mid = retry_delay_seconds(DEFAULT_BASE_SECONDS, attempt, u32::MAX / 2);
            assert!(least <= mid && mid <= most, "{why}: within the jitter ({least} <= {mid} <= {most})");
            if most - least >= 4 {
                assert!(least < mid && mid < most, "{why}: the jitter moves the delay ({least} < {mid} < {most})");
            }
        }
    }

    #[test]
    fn delays_are_capped_at_twelve_hours_however_many_attempts() {
        for attempt in [15, 16, 31, 32, 33, 64, 100, u32::MAX] {
            assert_eq!(retry_delay_seconds(DEFAULT_BASE_SECONDS, attempt, u32::MAX), MAX_DELAY_SECONDS);
            assert_eq!(retry_delay_seconds(DEFAULT_BASE_SECONDS, attempt, 0), MAX_DELAY_SECONDS / 2);
        }
        assert_eq!(retry_delay_seconds(u32::MAX, 1, u32::MAX), MAX_DELAY_SECONDS, "a huge base is capped too");
    }

    #[test]
    fn a_one_second_base_retries_within_seconds_and_never_without_delay() {
        assert_eq!(retry_delay_seconds(1, 1, 0), 1);
        assert_eq!(retry_delay_seconds(1, 1, u32::MAX), 1);
        assert_eq!((retry_delay_seconds(1, 2, 0), retry_delay_seconds(1, 2, u32::MAX)), (1, 2));
        assert_eq!((retry_delay_seconds(1, 3, 0), retry_delay_seconds(1, 3, u32::MAX)), (2, 4));
        assert_eq!(retry_delay_seconds(0, 1, 0), 1, "a zero base still waits a second");
        assert_eq!(retry_delay_seconds(1, 0, 0), retry_delay_seconds(1, 1, 0), "attempt 0 counts as the first");
    }

    #[test]
    fn the_default_schedule_survives_a_six_hour_outage_even_with_the_least_jitter() {
        let least = minimum_total_wait(DEFAULT_BASE_SECONDS, MAX_RETRIES);
        assert!(least >= 6 * HOUR, "the retries span at least 6 h, not {least} s");
        assert_eq!(least, 40_958);
        let most: u64 =
            (1..=MAX_RETRIES).map(|a| u64::from(retry_delay_seconds(DEFAULT_BASE_SECONDS, a, u32::MAX))).sum();
        assert!(most <= 24 * HOUR, "a dead letter is recorded within a day, not after {most} s");
        // One retry fewer would not be enough: MAX_RETRIES is not padded blindly.
        assert!(minimum_total_wait(DEFAULT_BASE_SECONDS, MAX_RETRIES - 1) < 6 * HOUR);
    }

    #[test]
    fn wrangler_toml_retries_each_consumer_max_retries_times() {
        // The management Worker consumes the queues (the edge Worker only sends).
        let toml = include_str!("../../wrangler.manage.toml");
        let retries: Vec<u32> = toml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("max_retries"))
            .filter_map(|rest| rest.trim().strip_prefix('=')?.trim().parse().ok())
            .collect();
        // The emails queue and its dead-letter queue, then the webhook queue
        // and its dead-letter queue (whose retries are for crashes, with this
        // same backoff).
        assert_eq!(retries, [MAX_RETRIES; 4]);
    }

    struct FixedRng(u8);
    impl Rng for FixedRng {
        fn fill(&self, buf: &mut [u8]) -> Result<(), AppError> {
            buf.fill(self.0);
            Ok(())
        }
    }
    struct BrokenRng;
    impl Rng for BrokenRng {
        fn fill(&self, _: &mut [u8]) -> Result<(), AppError> {
            Err(AppError::internal("no randomness"))
        }
    }

    #[test]
    fn the_jitter_comes_from_the_rng() {
        assert_eq!(next_retry_delay(&FixedRng(0), 8, 1), 4);
        assert_eq!(next_retry_delay(&FixedRng(0xff), 8, 1), 8);
        assert_eq!(next_retry_delay(&BrokenRng, 8, 1), 5, "about the midpoint without randomness");
    }
}
