"""A fake GitHub, Google and GitLab on one loopback port, for `make fuzz`:
the hooks link the seeded owner's identities through it, so
`DELETE /v1/me/identities/{provider}` finds something to unlink.

The same paths as the runtime tests' fake (tests/support/fake_provider.rs),
reduced to what a link needs:

  - authorization (`/github/login/oauth/authorize`, `/google/o/oauth2/v2/auth`,
    `/gitlab/oauth/authorize`): approves at once, for a new provider account
    each time (so a relink after a reseed never meets an identity another
    owner holds), and redirects to the `redirect_uri` with `code` and `state`;
  - token endpoints: check the client, the code (once), the `redirect_uri`
    and the PKCE S256 verifier; Google and GitLab return an ID token (`iss`,
    `aud`, `exp`, `nonce`, `sub`, `email`, `email_verified`; junk signature
    bytes: the Worker does not need them);
  - GitHub's `/user` and `/user/emails`, GitLab's `/oauth/userinfo`;
  - an org's OpenID Connect provider at `/idp` (`idp_issuer(port)`): its
    discovery document only, which the Worker reads when the hooks connect
    it for single sign-on (the sign-in itself is not taken further).

    python3 fake_oauth.py --vars PORT

prints the Worker's `OAUTH_*` variables (clients and development endpoint
overrides) for a fake on 127.0.0.1:PORT, one `NAME=value` a line, for a
.dev.vars; `python3 fake_oauth.py --free-port` prints a port for it.
`serve(port)` starts the fake in a daemon thread. Standard library only.
"""
import base64
import hashlib
import itertools
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDERS = ("github", "google", "gitlab")
AUTHORIZE = {
    "/github/login/oauth/authorize": "github",
    "/google/o/oauth2/v2/auth": "google",
    "/gitlab/oauth/authorize": "gitlab",
}
TOKEN = {
    "/github/login/oauth/access_token": "github",
    "/google/token": "google",
    "/gitlab/oauth/token": "gitlab",
}


def client(provider):
    """The client id and secret the Worker is configured with (worker_vars)."""
    return f"fuzz-{provider}-client", f"fuzz-{provider}-secret"


def worker_vars(port):
    """The Worker's OAUTH_* variables for a fake on 127.0.0.1:port (honoured
    with ENVIRONMENT=development only)."""
    b = f"http://127.0.0.1:{port}"
    out = {
        "OAUTH_GITHUB_AUTHORIZE_URL": f"{b}/github/login/oauth/authorize",
        "OAUTH_GITHUB_TOKEN_URL": f"{b}/github/login/oauth/access_token",
        "OAUTH_GITHUB_API_URL": f"{b}/github/api",
        "OAUTH_GOOGLE_AUTHORIZE_URL": f"{b}/google/o/oauth2/v2/auth",
        "OAUTH_GOOGLE_TOKEN_URL": f"{b}/google/token",
        "OAUTH_GOOGLE_ISSUER": f"{b}/google",
        "OAUTH_GITLAB_BASE_URL": f"{b}/gitlab",
    }
    for p in PROVIDERS:
        out[f"OAUTH_{p.upper()}_CLIENT_ID"], out[f"OAUTH_{p.upper()}_CLIENT_SECRET"] = client(p)
    return out


def idp_issuer(port):
    """The issuer of the fake single sign-on provider (discovery only)."""
    return f"http://127.0.0.1:{port}/idp"


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Fake:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.grants = {}  # code -> grant
        self.tokens = {}  # access token -> (provider, account)
        # GitHub ids are numbers: one sequence for every provider's accounts.
        self.ids = itertools.count(time.time_ns() // 1000)

    def approve(self, provider, q):
        """A code for a new account at `provider`; the redirect, or the reason it is refused."""
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != client(provider)[0]:
            return None, "unknown client_id"
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return None, "response_type=code and PKCE S256 required"
        if not redirect_uri.endswith(f"/v1/auth/oauth/{provider}/callback") or "state" not in q:
            return None, "not the registered callback, or no state"
        n = next(self.ids)
        account = {"id": n, "email": f"{provider}-{n}@fuzz.example.com", "name": f"Fuzz {provider} {n}"}
        code = "code_" + b64url(hashlib.sha256(f"{provider}:{n}:{time.time_ns()}".encode()).digest())
        with self.lock:
            self.grants[code] = {"provider": provider, "account": account, "redirect_uri": redirect_uri,
                                 "challenge": q.get("code_challenge", ""), "nonce": q.get("nonce"), "used": False}
        sep = "&" if "?" in redirect_uri else "?"
        return redirect_uri + sep + urllib.parse.urlencode({"code": code, "state": q["state"]}), None

    def redeem(self, provider, form):
        """The account a code was minted for, or an OAuth error code."""
        cid, secret = client(provider)
        if form.get("client_id") != cid or form.get("client_secret") != secret:
            return None, "invalid_client"
        with self.lock:
            grant = self.grants.get(form.get("code", ""))
            if not grant or grant["used"] or grant["provider"] != provider:
                return None, "invalid_grant"
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return None, "invalid_grant"
            if b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) != grant["challenge"]:
                return None, "invalid_grant"
            grant["used"] = True
            token = ("gho_" if provider == "github" else "ya29.") + b64url(hashlib.sha256(
                f"{form['code']}:{time.time_ns()}".encode()).digest())
            self.tokens[token] = (provider, grant["account"])
        return grant, token

    def bearer(self, provider, header):
        token = (header or "").removeprefix("Bearer ").removeprefix("token ")
        with self.lock:
            found = self.tokens.get(token)
        return found[1] if found and found[0] == provider else None

    def id_token(self, provider, grant):
        now = int(time.time())
        account = grant["account"]
        claims = {"iss": f"{self.base}/{provider}", "aud": client(provider)[0], "azp": client(provider)[0],
                  "sub": str(account["id"]), "iat": now, "exp": now + 3600, "nonce": grant["nonce"],
                  "email": account["email"], "email_verified": True, "name": account["name"]}
        header = {"alg": "RS256", "kid": "fake", "typ": "JWT"}
        return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()),
                         "bm90LWEtc2lnbmF0dXJl"])

    def route(self, method, path, q, form, headers):
        """(status, JSON body or None, extra headers)."""
        if method == "GET" and path in AUTHORIZE:
            location, why = self.approve(AUTHORIZE[path], q)
            return (302, None, {"Location": location}) if location else (400, {"error": why}, {})
        if method == "POST" and path in TOKEN:
            provider = TOKEN[path]
            grant, token = self.redeem(provider, form)
            if grant is None:
                # GitHub answers errors with HTTP 200.
                return (200 if provider == "github" else 400), {"error": token}, {}
            if provider == "github":
                return 200, {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}, {}
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599,
                         "scope": "openid email profile", "id_token": self.id_token(provider, grant)}, {}
        if method == "GET" and path == "/idp/.well-known/openid-configuration":
            idp = f"{self.base}/idp"
            return 200, {"issuer": idp, "authorization_endpoint": f"{idp}/authorize", "token_endpoint": f"{idp}/token",
                         "jwks_uri": f"{idp}/jwks", "response_types_supported": ["code"],
                         "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}, {}
        auth = headers.get("authorization")
        if method == "GET" and path in ("/github/api/user", "/github/api/user/emails"):
            account = self.bearer("github", auth)
            if account is None:
                return 401, {"message": "Bad credentials"}, {}
            if path.endswith("/emails"):
                return 200, [{"email": account["email"], "primary": True, "verified": True, "visibility": "private"}], {}
            return 200, {"login": f"octo{account['id']}", "id": account["id"], "name": account["name"], "email": None}, {}
        if method == "GET" and path == "/gitlab/oauth/userinfo":
            account = self.bearer("gitlab", auth)
            if account is None:
                return 401, {"error": "invalid_token"}, {}
            return 200, {"sub": str(account["id"]), "name": account["name"], "email": account["email"],
                         "email_verified": True}, {}
        return 404, {"message": "Not Found"}, {}


def serve(port):
    """Starts the fake on 127.0.0.1:port in a daemon thread; returns it."""
    fake = Fake(port)

    class Handler(BaseHTTPRequestHandler):
        def answer(self, method):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            q = dict(urllib.parse.parse_qsl(url.query))
            form = dict(urllib.parse.parse_qsl(raw))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = fake.route(method, url.path, q, form, headers)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer("GET")

        def do_POST(self):
            self.answer("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-oauth", daemon=True).start()
    return fake


def free_port():
    """A port free on 127.0.0.1 a moment ago, below the kernel's ephemeral
    range (20000-31999, as tests/support's free_port): the Worker starting
    meanwhile, whose outgoing connections take ephemeral ports, cannot be
    handed it before the hooks bind it."""
    for port in random.sample(range(20_000, 32_000), 12_000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32000")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--free-port"] and len(sys.argv) == 2:
        print(free_port())
    elif sys.argv[1:2] == ["--vars"] and len(sys.argv) == 3:
        for name, value in worker_vars(int(sys.argv[2])).items():
            print(f"{name}={value}")
    else:
        sys.exit("usage: fake_oauth.py --vars PORT | --free-port")
