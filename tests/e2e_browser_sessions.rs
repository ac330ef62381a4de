//! Browser sessions (cookie mode) against the built Worker in workerd: the
//! scenarios of tests/client/browser.rs over real HTTP (headers, cookies and
//! Origin as workerd hands them over), and two refreshes with one cookie at
//! the same time. Needs `make build` first (`make test` does it).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use std::sync::Barrier;
use support::browser::{self, access, assert_browser_session, assert_clears, set_cookies, Browser, CLIENT};
use support::*;

#[test]
fn cookie_mode_rules_hold_in_the_worker() {
    let w = Worker::shared();
    browser::json_clients_unchanged(w, "json@example.com");
    browser::rotation_and_reuse(w, "rot@example.com");
    browser::csrf(w, "csrf@example.com", false);
    browser::missing_custom_header(w, "hdr@example.com");
    browser::cookie_elsewhere_authenticates_nothing(w, "else@example.com");
    browser::logout_by_cookie(w, "out@example.com");
    browser::other_issuing_routes(w, "issue@example.com");
}

/// Two tabs refresh with the same cookie at once (what the console's
/// cross-tab lock prevents): at most one wins, every loser is 401 and
/// cleared, and since a spent token came back, the family is revoked (the
/// winner's tokens die too).
#[test]
fn two_concurrent_refreshes_with_one_cookie_win_at_most_once() {
    let w = Worker::shared();
    let origin = w.origin();
    for round in 0..3 {
        let email = format!("race{round}@example.com");
        w.api().verified(&email);
        let mut tab = Browser::new(w);
        assert_browser_session(&tab.login(&email), &origin);
        let c = tab.cookie.clone().unwrap();
        let barrier = Barrier::new(2);
        let replies: Vec<Resp> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (w, c, origin, barrier) = (w, &c, &origin, &barrier);
                    s.spawn(move || {
                        let tab = Browser::new(w);
                        barrier.wait();
                        tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", origin)], Some(c), None)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&Resp> = replies.iter().filter(|r| r.status == 200).collect();
        assert!(winners.len() <= 1, "both refreshes won: {replies:?}");
        for r in replies.iter().filter(|r| r.status != 200) {
            assert_eq!((r.status, r.code()), (401, "invalid_token"), "{}", r.raw);
            assert_clears(r, &origin);
        }
        for win in winners {
            assert_eq!(set_cookies(win).len(), 1);
            assert_eq!(browser::me_status(w, &access(win)), 401, "reuse revokes the family, the winner's too");
            let next = assert_browser_session(win, &origin).value;
            let r = tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", &origin)], Some(&next), None);
            assert_clears(&r.expect_problem(401, "invalid_token"), &origin);
        }
    }
}
