//! A fake DNS-over-HTTPS resolver on a loopback port, speaking the JSON
//! dialect Cloudflare serves at `/dns-query` (`?name=…&type=TXT` with
//! `accept: application/dns-json`), for the verified-domain tests (native
//! and in workerd). TXT records are what the test publishes; a name without
//! any answers NXDOMAIN (status 3), as a real resolver does; `fail(true)`
//! makes every answer SERVFAIL (status 2), a resolver that cannot say.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

#[derive(Default)]
struct State {
    records: Mutex<HashMap<String, Vec<String>>>,
    /// Names asked for, in order.
    asked: Mutex<Vec<String>>,
    failing: AtomicBool,
    stop: AtomicBool,
}

/// The fake, on `127.0.0.1:<free port>`; stopped on drop.
pub struct FakeDns {
    server: Arc<tiny_http::Server>,
    state: Arc<State>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl FakeDns {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("start fake resolver"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let state = Arc::new(State::default());
        let thread = {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            thread::Builder::new().name("fake-dns".into()).spawn(move || serve(&server, &state)).expect("spawn")
        };
        Self { server, state, port, thread: Some(thread) }
    }

    /// `DNS_OVER_HTTPS_URL` for a Worker or the native config.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/dns-query", self.port)
    }

    /// The variable that points a Worker (development) at this fake.
    pub fn worker_vars(&self) -> Vec<(String, String)> {
        vec![("DNS_OVER_HTTPS_URL".to_string(), self.url())]
    }

    /// Publishes `values` as the TXT records of `name` (replacing any).
    pub fn set_txt(&self, name: &str, values: &[&str]) {
        let values = values.iter().map(|v| v.to_string()).collect();
        self.state.records.lock().unwrap().insert(name.to_ascii_lowercase(), values);
    }

    /// Removes every record of `name` (it then answers NXDOMAIN).
    pub fn clear(&self, name: &str) {
        self.state.records.lock().unwrap().remove(&name.to_ascii_lowercase());
    }

    /// Makes every answer SERVFAIL (or stops that).
    pub fn fail(&self, on: bool) {
        self.state.failing.store(on, Ordering::SeqCst);
    }

    /// The names asked for so far.
    pub fn asked(&self) -> Vec<String> {
        self.state.asked.lock().unwrap().clone()
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TXT value as resolvers quote it in `data`: one or more quoted
/// character strings of at most 255 bytes (long values split, as DNS does).
fn quoted(value: &str) -> String {
    let chunks: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c).replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    chunks.join(" ")
}

fn serve(server: &tiny_http::Server, state: &State) {
    loop {
        let req = match server.recv() {
            Ok(req) => req,
            Err(_) if state.stop.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        };
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let url = req.url().to_string();
        let accept = req
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case("accept"))
            .map(|h| h.value.as_str().to_string())
            .unwrap_or_default();
        let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let (status, body) = match (path, params.get("name"), params.get("type").map(String::as_str)) {
            // Cloudflare answers the JSON dialect only when asked for it.
            _ if accept != "application/dns-json" => (400, json!({"error": "accept application/dns-json"})),
            ("/dns-query", Some(name), Some("TXT")) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                state.asked.lock().unwrap().push(name.clone());
                let question = json!([{"name": format!("{name}."), "type": 16}]);
                if state.failing.load(Ordering::SeqCst) {
                    (200, json!({"Status": 2, "Question": question}))
                } else {
                    match state.records.lock().unwrap().get(&name) {
                        None => (200, json!({"Status": 3, "Question": question})),
                        Some(values) => {
                            let answer: Vec<_> = values
                                .iter()
                                .map(|v| json!({"name": format!("{name}."), "type": 16, "TTL": 60, "data": quoted(v)}))
                                .collect();
                            (200, json!({"Status": 0, "Question": question, "Answer": answer}))
                        }
                    }
                }
            }
            _ => (400, json!({"error": "bad request"})),
        };
        let response = tiny_http::Response::from_string(body.to_string())
            .with_status_code(status)
            .with_header(tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/dns-json"[..]).unwrap());
        let _ = req.respond(response);
    }
}
