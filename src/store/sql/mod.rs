//! Every SQL statement of the service, by area. Writes that guard an
//! invariant do it in the statement itself (`WHERE … AND used_at IS NULL`),
//! never by reading first. Each area owns its statements, and where callers
//! would otherwise bind parameters or read batch results by position, the
//! typed builders and readers that do it for them.
//!
//! Every statement stays a `&'static str` literal; the statements of the two
//! tenants (org and workspace) come from one table per tenant
//! ([`members::MemberSql`], [`invitations::InvitationSql`]).

pub mod access;
pub mod access_reviews;
pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod device;
pub mod domains;
pub mod grants;
pub mod invitations;
pub mod join_links;
pub mod limits;
pub mod mail;
pub mod members;
pub mod membership_requests;
pub mod notifications;
pub mod oauth;
pub mod orgs;
pub mod roles;
pub mod scim;
pub mod sealing;
pub mod sessions;
pub mod sso;
pub mod totp;
pub mod workload;
pub mod workspaces;

pub use access::*;
pub use access_reviews::*;
pub use accounts::*;
pub use admin::*;
pub use api_keys::*;
pub use audit::*;
pub use device::*;
pub use domains::*;
pub use grants::*;
pub use invitations::*;
pub use join_links::*;
pub use limits::*;
pub use mail::*;
pub use members::*;
pub use membership_requests::*;
pub use notifications::*;
pub use oauth::*;
pub use orgs::*;
pub use roles::*;
pub use scim::*;
pub use sealing::*;
pub use sessions::*;
pub use sso::*;
pub use totp::*;
pub use workload::*;
pub use workspaces::*;

pub const HEALTH: &str = "SELECT 1 AS ok";
/// Put right after a guarded write in a batch: if that write changed no row,
/// this statement fails (`json('guard')` is malformed JSON), and D1 (like
/// SQLite) rolls the whole batch back. It turns "the first write lost a race"
/// into "nothing happened" for the statements that follow it.
pub const GUARD_CHANGED: &str = "SELECT json(CASE WHEN changes() > 0 THEN '1' ELSE 'guard' END) AS ok";
