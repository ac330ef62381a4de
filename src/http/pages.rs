//! Small HTML pages where a person must act (opened from an email link).
//! Tokens travel in the URL fragment, which browsers never send to a server;
//! the script reads it, wipes it from the address bar and posts it to the API.
use super::{Request, Response};
use crate::app::{AppError, Deps};

const CSS: &str = include_str!("assets/pages.css");
const SCRIPT: &str = include_str!("assets/pages.js");

fn page(title: &str, name: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · Latchkey</title><style>{CSS}</style></head>\
         <body data-page=\"{name}\"><main><h1>{title}</h1>{body}<p id=\"status\" role=\"status\" aria-live=\"polite\"></p></main>\
         <script src=\"/assets/pages.js\"></script></body></html>"
    );
    Response { status: 200, headers: vec![("content-type".into(), "text/html; charset=utf-8".into())], body: html.into_bytes() }
        // Inline styles only; scripts only from our own origin; no framing; no referrer.
        .with_header("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-frame-options", "DENY")
}

/// `GET /verify-email#token=…`
#[utoipa::path(get, path = "/verify-email", operation_id = "verify_email_page", tag = "pages", responses((status = 200, content_type = "text/html", description = "Verifies the address from the link's `#token=` fragment and the password chosen at sign-up")))]
pub async fn verify_email(_: &Deps, _: &Request) -> Result<Response, AppError> {
    Ok({
        page(
        "Verify your email",
        "verify-email",
        "<p id=\"lead\">Checking your link…</p>\
         <form id=\"verify\" hidden><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" maxlength=\"128\" required></label><button>Verify</button></form>",
    )
    })
}

/// `GET /reset-password#token=…`
#[utoipa::path(get, path = "/reset-password", tag = "pages", responses((status = 200, content_type = "text/html", description = "Asks for a reset link, or sets a new password from the link's `#token=` fragment")))]
pub async fn reset_password(_: &Deps, _: &Request) -> Result<Response, AppError> {
    Ok({
        page(
        "Reset your password",
        "reset-password",
        "<form id=\"request\" hidden><label>Email <input type=\"email\" name=\"email\" autocomplete=\"email\" required></label><button>Email me a link</button></form>\
         <form id=\"confirm\" hidden><label>New password <input type=\"password\" name=\"new_password\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\" required></label><button>Set password</button></form>",
    )
    })
}

/// `GET /assets/pages.js`
#[utoipa::path(get, path = "/assets/pages.js", tag = "pages", responses((status = 200, content_type = "text/javascript", description = "The script of the pages above")))]
pub async fn script(_: &Deps, _: &Request) -> Result<Response, AppError> {
    Ok({
        Response {
            status: 200,
            headers: vec![("content-type".into(), "text/javascript; charset=utf-8".into())],
            body: SCRIPT.as_bytes().to_vec(),
        }
        .with_header("cache-control", "public, max-age=300")
    })
}

/// `GET /invite#token=…`
#[utoipa::path(get, path = "/invite", tag = "pages", responses((status = 200, content_type = "text/html", description = "Shows the invitation from the link's `#token=` fragment; sign in or sign up, then accept or decline")))]
pub async fn invite(_: &Deps, _: &Request) -> Result<Response, AppError> {
    Ok({
        page(
        "You're invited",
        "invite",
        "<p id=\"lead\">Loading your invitation…</p>\
         <div id=\"actions\" hidden><button id=\"accept\">Accept</button><button id=\"decline\" class=\"secondary\">Decline</button></div>\
         <div id=\"auth\" hidden>\
           <form id=\"signup\"><h2>New to Latchkey? Create your account</h2>\
             <label>Name <input name=\"name\" autocomplete=\"name\" required maxlength=\"100\"></label>\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\" required></label>\
             <button>Sign up and join</button></form>\
           <form id=\"signin\"><h2>Have an account? Sign in</h2>\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
             <label id=\"invite-mfa\" hidden>Code from your authenticator app <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\
             <button>Sign in</button></form>\
         </div>",
    )
    })
}

/// `GET /settings/security`
#[utoipa::path(get, path = "/settings/security", tag = "pages", responses((status = 200, content_type = "text/html", description = "Sign in (password, or \"Continue with\" each configured provider: the page finishes `#login_code=`), two-factor set-up (QR code, confirmation, recovery codes), and linked sign-in providers")))]
pub async fn security(_: &Deps, _: &Request) -> Result<Response, AppError> {
    Ok({
        page(
        "Security",
        "security",
        "<form id=\"signin\" hidden><p>Sign in to manage two-factor authentication.</p>\
           <label>Email <input type=\"email\" name=\"email\" autocomplete=\"email\" required></label>\
           <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
           <label id=\"mfa-row\" hidden>Code <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\
           <button>Sign in</button>\
           <div id=\"oauth-buttons\" class=\"oauth\"></div></form>\
         <div id=\"setup\" hidden><p id=\"lead\"></p><button id=\"start\">Set up two-factor authentication</button></div>\
         <div id=\"identities\" hidden><h2>Sign-in methods</h2><ul id=\"identity-list\"></ul><div id=\"link-buttons\" class=\"oauth\"></div></div>\
         <div id=\"enrol\" hidden><p>Scan this code with your authenticator app, or type the key.</p>\
           <img id=\"qr\" alt=\"QR code for your authenticator app\" width=\"200\" height=\"200\">\
           <p>Key: <code id=\"secret\"></code></p>\
           <form id=\"confirm\"><label>6-digit code <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required pattern=\"[0-9]{6}\"></label><button>Turn on</button></form></div>\
         <div id=\"codes\" hidden><p>Two-factor authentication is on. Save these recovery codes: each works once, and they are shown only now.</p>\
           <pre id=\"code-list\"></pre><button id=\"copy\" class=\"secondary\">Copy</button><a id=\"download\" download=\"latchkey-recovery-codes.txt\">Download as text</a></div>",
    )
    })
}

/// `GET /install#token=…`
#[utoipa::path(get, path = "/install", tag = "pages", responses((status = 200, content_type = "text/html", description = "A signed-in customer picks one of their workspaces and approves the organization's access")))]
pub async fn install(_: &Deps, _: &Request) -> Result<Response, AppError> {
    Ok({
        page(
        "Grant access",
        "install",
        "<p id=\"lead\">Loading…</p>\
         <form id=\"signin\" hidden><p>Sign in to choose a workspace.</p>\
           <label>Email <input type=\"email\" name=\"email\" autocomplete=\"email\" required></label>\
           <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
           <button>Sign in</button></form>\
         <form id=\"approve\" hidden><label>Workspace <select name=\"workspace_id\" id=\"workspaces\"></select></label>\
           <button>Approve access</button></form>",
    )
    })
}
