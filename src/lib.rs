//! Latchkey: organizations and access, as a Cloudflare Worker.
//!
//! `domain` is pure, `app` holds the use cases over the ports in `app::ports`,
//! `store` the SQL, `http` the routes and pages, `jobs` the queue consumer and
//! `platform` (wasm32 only) the Worker glue. See docs/layout.md.
// The edge build leaves out the handlers and use cases of the routes it hands
// to the management Worker, and the queue consumer: what only they use is
// unused there (the full build, linted, uses it all).
#![cfg_attr(feature = "edge", allow(dead_code, unused_imports))]
pub mod app;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod platform;
