//! Runtime test of the byte caps on what the Worker reads (the built Worker
//! under wrangler dev): a chunked request body (no `Content-Length`, so it
//! cannot be refused up front) is read only up to 64 KiB and answered 413,
//! even when it never ends; a webhook receiver whose answer streams megabytes,
//! or never ends, gets its delivery recorded with a 256-byte excerpt at once
//! instead of being read whole (or until the 15 s timeout). After each the
//! Worker still serves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// Well under the 15 s webhook timeout and any wait for a body's end: an
/// answer within this came from the cap, not from the sender stopping.
const PROMPT: Duration = Duration::from_secs(8);

/// A 16 KiB chunk of a chunked body, framed.
fn chunk() -> Vec<u8> {
    let data = vec![b' '; 16 * 1024];
    let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
    framed.extend(data);
    framed.extend(b"\r\n");
    framed
}

/// What the raw client saw: the status and the body, or (`status` 0) a
/// connection closed before a whole answer; and when.
struct RawAnswer {
    status: u16,
    content_type: String,
    body: Value,
    elapsed: Duration,
    sent: usize,
}

/// Sends `POST path` with `Transfer-Encoding: chunked` from a thread of its
/// own: `total` bytes as fast as the socket takes them, or, with `endless`,
/// 256 KiB at once and then a chunk every 100 ms that never ends (until the
/// answer arrives or 30 s pass). Reads the answer meanwhile.
fn post_chunked(port: u16, path: &str, total: usize, endless: bool) -> RawAnswer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answered = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (mut stream, answered, sent) = (stream.try_clone().unwrap(), answered.clone(), sent.clone());
        thread::spawn(move || {
            let started = Instant::now();
            let chunk = chunk();
            while !answered.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(30) {
                // A refused body may be cut off by the server: stop writing then.
                if stream.write_all(&chunk).is_err() {
                    return;
                }
                let so_far = sent.fetch_add(16 * 1024, Ordering::SeqCst) + 16 * 1024;
                if !endless && so_far >= total {
                    let _ = stream.write_all(b"0\r\n\r\n");
                    return;
                }
                if endless && so_far >= 256 * 1024 {
                    thread::sleep(Duration::from_millis(100));
                }
            }
        })
    };
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Headers, then Content-Length bytes of body.
    let (status, content_type, body) = loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break (0, String::new(), Value::String(String::from_utf8_lossy(&raw).into_owned()));
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let Some((head, rest)) = text.split_once("\r\n\r\n") else { continue };
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
                .unwrap_or("")
                .to_owned()
        };
        let length: usize = header("content-length").parse().unwrap_or(usize::MAX);
        if rest.len() >= length {
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            break (status, header("content-type"), serde_json::from_str(&rest[..length]).unwrap_or(Value::Null));
        }
    };
    let elapsed = started.elapsed();
    answered.store(true, Ordering::SeqCst);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
    RawAnswer { status, content_type, body, elapsed, sent: sent.load(Ordering::SeqCst) }
}

/// A webhook receiver on 127.0.0.1, one thread per request:
/// `/flood` answers 200 with 32 MB as fast as it can be taken, `/endless`
/// answers 200 with a body that never ends (1 KiB every 20 ms, for up to a
/// minute), anything else a plain `ok`. Every answer begins with [`PREFIX`].
struct Receiver {
    port: u16,
    server: Arc<tiny_http::Server>,
    /// Bytes of the streamed answers that the Worker took before it stopped reading.
    taken: Arc<AtomicUsize>,
}

const PREFIX: &str = "receiver-answer:";

/// The stream of an answer: [`PREFIX`], then `x`s; `pace` between 1 KiB reads.
struct Stream {
    left: usize,
    pace: Option<Duration>,
    started: Instant,
    first: bool,
    taken: Arc<AtomicUsize>,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 || self.started.elapsed() > Duration::from_secs(60) {
            return Ok(0);
        }
        if let Some(pace) = self.pace {
            thread::sleep(pace);
        }
        let n = buf.len().min(self.left).min(if self.pace.is_some() { 1024 } else { 64 * 1024 });
        buf[..n].fill(b'x');
        if self.first {
            let p = PREFIX.len().min(n);
            buf[..p].copy_from_slice(&PREFIX.as_bytes()[..p]);
            self.first = false;
        }
        self.left -= n;
        self.taken.fetch_add(n, Ordering::SeqCst);
        Ok(n)
    }
}

impl Receiver {
    fn start() -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let taken = Arc::new(AtomicUsize::new(0));
        let (s, t) = (server.clone(), taken.clone());
        thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let taken = t.clone();
                thread::spawn(move || {
                    let mut body = Vec::new();
                    let _ = req.as_reader().read_to_end(&mut body);
                    let stream = |left, pace| Stream { left, pace, started: Instant::now(), first: true, taken };
                    let reader = match req.url() {
                        "/flood" => stream(32 << 20, None),
                        "/endless" => stream(usize::MAX, Some(Duration::from_millis(20))),
                        _ => {
                            let _ = req.respond(tiny_http::Response::from_string(format!("{PREFIX} ok")));
                            return;
                        }
                    };
                    // No length: chunked, so only the stream's end would end the body.
                    let answer = tiny_http::Response::new(tiny_http::StatusCode(200), Vec::new(), reader, None, None);
                    let _ = req.respond(answer);
                });
            }
        });
        Receiver { port, server, taken }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn still_serves(w: &Worker, email: &str) {
    assert_eq!(w.get("/health", None).status, 200, "{}", w.log_tail());
    let r = w.api().signup(email, "correct horse battery staple", "Next");
    assert_eq!(r.status, 202, "a normal request after: {}", r.raw);
}

#[test]
fn chunked_bodies_and_webhook_answers_are_read_only_up_to_their_caps_in_workerd() {
    let receiver = Receiver::start();
    let w = Worker::start();

    // 1. A chunked body of 3 MB: 413, the problem+json of an oversize body.
    for path in ["/v1/auth/login", "/v1/orgs"] {
        let r = post_chunked(w.port(), path, 3 << 20, false);
        let sent = format!("{path} after {} bytes sent: {:?}", r.sent, r.body);
        assert_eq!((r.status, r.body["code"].as_str()), (413, Some("payload_too_large")), "{sent}");
        assert_eq!(r.content_type, "application/problem+json", "{sent}");
        still_serves(&w, &format!("after-chunked{}@example.com", path.len()));
    }

    // 2. A chunked body that never ends: refused soon after it passes the
    // limit (the Worker drops what follows for 2 s at most, then cancels),
    // not when it ends: reading it whole would wait forever. Whether the
    // 413 or the cancel reaches the client first is up to the proxy in
    // front of the Worker; either way the request is over.
    let r = post_chunked(w.port(), "/v1/auth/signup", usize::MAX, true);
    assert!(r.elapsed < PROMPT, "still reading after {:?} ({} bytes sent)", r.elapsed, r.sent);
    assert!(
        r.status == 0 || (r.status, r.body["code"].as_str()) == (413, Some("payload_too_large")),
        "{} {:?}",
        r.status,
        r.body
    );
    still_serves(&w, "after-endless@example.com");

    // 3. Webhook receivers that answer with megabytes, or without end.
    let f = Fixture::new(w).org_with("Acme", &[]);
    let (w, org, owner) = (&f.app, f.org.clone(), access(f.owner()));
    for path in ["/flood", "/endless", "/ok"] {
        let r = w.post(
            &format!("/v1/orgs/{org}/notification-channels"),
            Some(&owner),
            json!({"url": receiver.url(path), "event_types": ["ping"]}),
        );
        let channel = r.expect(201).id();
        let started = Instant::now();
        w.post(&format!("/v1/orgs/{org}/notification-channels/{channel}/test"), Some(&owner), json!({})).expect(202);
        let delivery = loop {
            let list = w.get(&format!("/v1/orgs/{org}/notification-channels/{channel}/deliveries"), Some(&owner));
            let list = list.expect(200).body["data"].as_array().unwrap().clone();
            if let Some(d) = list.into_iter().find(|d| d["status"] != "pending") {
                break d;
            }
            assert!(started.elapsed() < PROMPT, "{path}: no delivery recorded within {PROMPT:?}: {}", w.log_tail());
            thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(delivery["status"], "succeeded", "{path}: {delivery}");
        assert_eq!(delivery["last_status_code"], 200, "{path}: {delivery}");
        let excerpt = delivery["last_response"].as_str().unwrap_or_default();
        assert!(excerpt.starts_with(PREFIX), "{path}: {delivery}");
        if path == "/ok" {
            assert_eq!(excerpt, format!("{PREFIX} ok"));
        } else {
            assert_eq!(excerpt.len(), 256, "{path}: the excerpt is the first 256 bytes: {delivery}");
        }
    }
    // The Worker stopped reading: of 32 MB and an endless stream, it took far
    // less than either (what sits in socket buffers is all the receiver wrote).
    thread::sleep(Duration::from_secs(2));
    let taken = receiver.taken.load(Ordering::SeqCst);
    assert!(taken < 16 << 20, "the receivers wrote {taken} bytes: the answers were read on");
    still_serves(w, "after-webhooks@example.com");
}
