//! Latchkey: organizations and access, as a Cloudflare Worker.
//!
//! `domain` is pure, `app` holds the use cases over the ports in `app::ports`,
//! `store` the SQL, `http` the routes and pages, `jobs` the queue consumer and
//! `platform` (wasm32 only) the Worker glue. See docs/layout.md.
pub mod app;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod platform;
