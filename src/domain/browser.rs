//! Browsers: host-only cookies (the `__Host-` split between https and
//! plain-http development), reading one cookie from a `Cookie` header, and
//! the same-origin test of the CSRF defence. Pure: no I/O.

/// The header a browser client (the console) sends to opt in to cookie mode.
/// A custom header cannot be sent cross-site without a CORS preflight, which
/// this service never grants.
pub const CLIENT_HEADER: &str = "x-latchkey-client";
/// Its one accepted value.
pub const CLIENT_BROWSER: &str = "browser";

/// The refresh cookie's base name (`__Host-latchkey_refresh` over https).
pub const REFRESH_COOKIE: &str = "latchkey_refresh";

/// `SameSite` of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Also on top-level cross-site navigations (GET).
    Lax,
    /// On cross-site requests too (a POST from an identity provider); only
    /// with `Secure`, which browsers insist on.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// A host-only cookie of ours: the name with `__Host-` over https, where the
/// browser then insists on `Secure`, `Path=/` and no `Domain` (no subdomain
/// or sibling can set or shadow it). Browsers refuse `__Host-` cookies
/// without `Secure`, which plain-http development cannot set, so there the
/// prefix is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCookie {
    /// The name without the prefix.
    pub base: &'static str,
    /// Whether the service is served over https.
    pub secure: bool,
    /// Its `SameSite`.
    pub same_site: SameSite,
}

impl HostCookie {
    /// The name the browser stores it under.
    pub fn name(&self) -> String {
        if self.secure {
            format!("__Host-{}", self.base)
        } else {
            self.base.to_owned()
        }
    }

    /// The `Set-Cookie` value storing `value` for `max_age` seconds:
    /// `Path=/`, `HttpOnly`, `SameSite`, and `Secure` over https.
    pub fn set(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; Max-Age={}; HttpOnly; SameSite={}{secure}",
            self.name(),
            max_age.max(0),
            self.same_site.as_str()
        )
    }

    /// The `Set-Cookie` value that removes it (same attributes, `Max-Age=0`).
    pub fn clear(&self) -> String {
        self.set("", 0)
    }

    /// Its value in a `Cookie` request header, if present and not empty.
    pub fn read<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_value(cookie_header, &self.name()).filter(|v| !v.is_empty())
    }
}

/// A cookie's value from a `Cookie` header (`a=1; b=2`, RFC 6265 §5.4): the
/// first pair with exactly this name. Our values are base64url or hex, so no
/// quoting or decoding applies.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim())
}

/// The origin (`scheme://host[:port]`, RFC 6454) of an absolute URL,
/// lowercased, with a default port (`:443` for https, `:80` for http) dropped
/// as browsers drop it in `Origin`. `None` for anything but http(s).
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// Whether an `Origin` header names the service's own origin (that of
/// `app_url`). `null`, another scheme, host or port, and a missing header all
/// fail.
pub fn same_origin(app_url: &str, origin_header: Option<&str>) -> bool {
    match (origin_of(app_url), origin_header.map(str::trim)) {
        (Some(ours), Some(theirs)) => {
            // An Origin header is a bare origin: no path, query or fragment.
            !theirs.trim_start_matches("http://").trim_start_matches("https://").contains(['/', '?', '#'])
                && origin_of(theirs).is_some_and(|o| o == ours)
        }
        _ => false,
    }
}

/// Whether an `Origin` header may send a browser-mode request: the
/// service's own origin, and in development also its loopback twin. A
/// person who ran `make dev` types `localhost:8787` as often as
/// `127.0.0.1:8787`; both are this machine on the same port, and only a
/// local process can serve either. Outside development the origin is exact.
pub fn allowed_origin(app_url: &str, development: bool, origin_header: Option<&str>) -> bool {
    same_origin(app_url, origin_header)
        || (development && loopback_twin(app_url).is_some_and(|twin| same_origin(&twin, origin_header)))
}

/// `http://localhost:P` for `http://127.0.0.1:P` and the other way round
/// (same scheme and port); `None` for any other host.
fn loopback_twin(app_url: &str) -> Option<String> {
    let origin = origin_of(app_url)?;
    let (scheme, authority) = origin.split_once("://")?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, format!(":{port}")),
        None => (authority, String::new()),
    };
    let twin = match host {
        "127.0.0.1" => "localhost",
        "localhost" => "127.0.0.1",
        _ => return None,
    };
    Some(format!("{scheme}://{twin}{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFRESH: HostCookie = HostCookie { base: REFRESH_COOKIE, secure: true, same_site: SameSite::Strict };

    #[test]
    fn over_https_the_cookie_is_host_prefixed_secure_httponly_strict_and_path_root() {
        let c = REFRESH.set("tok", 60);
        assert_eq!(c, "__Host-latchkey_refresh=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure");
        let plain = HostCookie { secure: false, ..REFRESH };
        assert_eq!(plain.set("tok", 60), "latchkey_refresh=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
        assert!(REFRESH.clear().starts_with("__Host-latchkey_refresh=; Path=/; Max-Age=0;"));
    }

    #[test]
    fn reading_takes_the_exact_name_only() {
        assert_eq!(REFRESH.read("a=1; __Host-latchkey_refresh=xyz; b=2"), Some("xyz"));
        // The unprefixed cookie (settable by a sibling over http) is not ours over https.
        assert_eq!(REFRESH.read("latchkey_refresh=xyz"), None);
        assert_eq!(REFRESH.read("__Host-latchkey_refresh="), None);
        assert_eq!(REFRESH.read("x__Host-latchkey_refresh=1"), None);
        assert_eq!(cookie_value("a=1", "latchkey_oauth"), None);
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let app = "https://latchkey.example.com";
        assert!(same_origin(app, Some("https://latchkey.example.com")));
        assert!(same_origin(app, Some("https://LATCHKEY.example.com:443")));
        assert!(same_origin("http://127.0.0.1:8787", Some("http://127.0.0.1:8787")));
        for bad in [
            None,
            Some(""),
            Some("null"),
            Some("http://latchkey.example.com"),
            Some("https://latchkey.example.com:8443"),
            Some("https://evil.example.com"),
            Some("https://latchkey.example.com.evil.com"),
            Some("https://latchkey.example.com/path"),
            Some("https://user@latchkey.example.com"),
        ] {
            assert!(!same_origin(app, bad), "{bad:?}");
        }
        assert!(!same_origin("http://127.0.0.1:8787", Some("http://127.0.0.1:8788")));
    }

    #[test]
    fn in_development_both_loopback_names_are_our_origin_on_our_port_only() {
        for (app, twin) in [
            ("http://127.0.0.1:8787", "http://localhost:8787"),
            ("http://localhost:9000/", "http://127.0.0.1:9000"),
            ("http://127.0.0.1", "http://localhost"),
        ] {
            assert!(allowed_origin(app, true, Some(twin)), "{app} {twin}");
            assert!(allowed_origin(app, true, origin_of(app).as_deref()), "{app}");
            // Production: exact, whatever the host.
            assert!(!allowed_origin(app, false, Some(twin)), "{app} {twin} in production");
            assert!(allowed_origin(app, false, origin_of(app).as_deref()), "{app} in production");
        }
        let app = "http://127.0.0.1:8787";
        for bad in [
            "http://localhost:8788",
            "https://localhost:8787",
            "http://localhost.evil.example:8787",
            "http://[::1]:8787",
            "http://127.0.0.2:8787",
            "http://localhost:8787/x",
            "null",
        ] {
            assert!(!allowed_origin(app, true, Some(bad)), "{bad}");
        }
        assert!(!allowed_origin(app, true, None));
        // A real host has no twin, in development either.
        assert!(!allowed_origin("https://latchkey.example.com", true, Some("http://localhost")));
        assert!(!allowed_origin("https://latchkey.example.com", true, Some("https://localhost")));
    }
}
