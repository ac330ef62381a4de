"""Schemathesis hooks for `make fuzz`: signs in as an org owner and hands the
generated cases real ids, so the fuzzer reaches past 404s into the handlers.

Loaded by schemathesis through SCHEMATHESIS_HOOKS (scripts/fuzz.sh sets it,
and FUZZ_BASE to the Worker's base URL). At import it seeds the Worker over
its public API: an owner (signed up, verified through /v1/dev/emails, signed
in), their org, a second person who joined it by invitation, a pending
invitation, an API key, a workspace granted to the org, and an install link.
Standard library only.
"""
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import schemathesis

BASE = os.environ["FUZZ_BASE"].rstrip("/")
PASSWORD = "fuzzing owner passphrase 1"


class SeedError(RuntimeError):
    """The seed could not be (re)built: reported as an error, never swallowed."""


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def must(expected, answer, what):
    status, body = answer
    if status != expected:
        raise SeedError(f"fuzz seed: {what}: expected {expected}, got {status}: {body}")
    return body


def emailed_token(address, page):
    """The token of the newest emailed link to `page` (the queue consumer is asynchronous)."""
    for _ in range(100):
        status, body = call("GET", "/v1/dev/emails?to=" + urllib.parse.quote(address))
        if status == 200:
            for mail in body["data"]:
                found = re.search(re.escape(page) + r"#token=([^\s\"'<>&]+)", mail["text"])
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise SeedError(f"fuzz seed: no {page} email reached {address}")


def person(address, name):
    """Signs up and verifies `address`; returns its session."""
    must(202, call("POST", "/v1/auth/signup", {"email": address, "password": PASSWORD, "name": name}), "sign-up")
    token = emailed_token(address, "/verify-email")
    return must(200, call("POST", "/v1/auth/verify-email", {"token": token, "password": PASSWORD}), "verify")


def new_org(token):
    return must(201, call("POST", "/v1/orgs", {"name": "Fuzz org"}, token), "create org")


def new_workspace(token, org_slug):
    ws = must(201, call("POST", "/v1/workspaces", {"name": "Fuzz workspace"}, token), "create workspace")
    must(201, call("POST", f"/v1/workspaces/{ws['id']}/grants", {"org_slug": org_slug}, token), "grant")
    return ws["id"]


def seed():
    run = f"{time.time_ns()}"
    owner_address, member_address = f"owner-{run}@fuzz.example.com", f"member-{run}@fuzz.example.com"
    owner_session = person(owner_address, "Fuzz Owner")
    owner = owner_session["access_token"]
    member = person(member_address, "Fuzz Member")["access_token"]
    me = must(200, call("GET", "/v1/me", token=owner), "me")
    org = new_org(owner)
    must(201, call("POST", f"/v1/orgs/{org['id']}/invitations", {"email": member_address, "role": "member"}, owner), "invite")
    invite_token = emailed_token(member_address, "/invite")
    must(200, call("POST", "/v1/invitations/accept", {"token": invite_token}, member), "accept")
    member_id = must(200, call("GET", "/v1/me", token=member), "member me")["id"]
    invitation = must(
        201,
        call("POST", f"/v1/orgs/{org['id']}/invitations", {"email": f"pending-{run}@fuzz.example.com", "role": "admin"}, owner),
        "pending invitation",
    )
    key = must(201, call("POST", f"/v1/orgs/{org['id']}/api-keys", {"name": "fuzz", "scopes": ["org:read"]}, owner), "key")
    link = must(201, call("POST", f"/v1/orgs/{org['id']}/install-links", {}, owner), "install link")
    sessions = must(200, call("GET", "/v1/me/sessions", token=owner), "sessions")
    return {
        "owner": owner_address,
        "access": owner,
        "refresh": owner_session["refresh_token"],
        "owner_id": me["id"],
        "member_id": member_id,
        "org_id": org["id"],
        "org_slug": org["slug"],
        "ws_id": new_workspace(owner, org["slug"]),
        "invitation_id": invitation["id"],
        "key_id": key["id"],
        "install_link_id": link["id"],
        "session_id": sessions["data"][0]["id"],
    }


STATE = seed()


def fresh_access():
    """A live access token of the owner. Generated requests may end the
    session (logout, revoking sessions, replaying a refresh token they saw)
    and, having seen the owner's address in an answer, lock its password
    sign-in with wrong guesses (429); so: refresh, else sign in, else seed a
    new owner, org and ids."""
    status, body = call("POST", "/v1/auth/token", {"refresh_token": STATE["refresh"]})
    if status != 200:
        status, body = call("POST", "/v1/auth/login", {"email": STATE["owner"], "password": PASSWORD})
    if status == 200 and "access_token" in body:
        STATE["access"], STATE["refresh"] = body["access_token"], body["refresh_token"]
    else:
        STATE.update(seed())
    return STATE["access"]


@schemathesis.auth(refresh_interval=300)
class OwnerSession:
    """A fresh owner session every 5 minutes (access tokens live 15), and at
    once after a 401."""

    def get(self, case, ctx):
        return fresh_access()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def real_id(path, name):
    """The seeded id a path parameter names, if any."""
    if name == "org_id":
        return STATE["org_id"]
    if name == "ws_id":
        return STATE["ws_id"]
    if name == "user_id":
        return STATE["member_id"]
    if name == "id":
        for part, key in (("/invitations/", "invitation_id"), ("/api-keys/", "key_id"),
                          ("/install-links/", "install_link_id"), ("/sessions/", "session_id")):
            if part in path:
                return STATE[key]
    return None


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    # Most cases get the real ids; one in four keeps what was generated, so
    # unknown and malformed ids stay covered.
    if not path_parameters:
        return path_parameters
    path = ctx.operation.path
    out = dict(path_parameters)
    for name, value in path_parameters.items():
        if hash(repr(value)) % 4 == 0:
            continue
        found = real_id(path, name)
        if found is not None:
            out[name] = found
    return out


@schemathesis.hook
def after_call(ctx, case, response):
    # Keep the seeded org and workspace alive: a generated DELETE may succeed.
    if case.method == "DELETE" and response.status_code == 204:
        token = fresh_access()
        if case.operation.path == "/v1/orgs/{org_id}" and case.path_parameters.get("org_id") == STATE["org_id"]:
            org = new_org(token)
            STATE["org_id"], STATE["org_slug"] = org["id"], org["slug"]
        if case.operation.path == "/v1/workspaces/{ws_id}" and case.path_parameters.get("ws_id") == STATE["ws_id"]:
            STATE["ws_id"] = new_workspace(token, STATE["org_slug"])
