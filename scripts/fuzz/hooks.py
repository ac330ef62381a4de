"""Schemathesis hooks for `make fuzz`: signs in as an org owner and hands the
generated cases real ids, so the fuzzer reaches past 404s into the handlers.

Loaded by schemathesis through SCHEMATHESIS_HOOKS (scripts/fuzz.sh sets it,
and FUZZ_BASE to the Worker's base URL). At import it seeds the Worker over
its public API (it must run with ENVIRONMENT=development: the seed reads
/v1/dev/emails):

  - an owner (signed up, verified through /v1/dev/emails, signed in) and a
    second session of theirs, for the session routes;
  - an org and a workspace with nothing in them, for the generated deletes
    of an org and of a workspace;
  - their org, with a second person who joined it by invitation (the member
    id), a pending invitation, an API key, an install link, a notification
    channel and a delivery of its test event (failed when the Worker retries
    fast, as scripts/fuzz.sh configures it: WEBHOOK_RETRY_SCHEDULE=1), a join
    link that needs approval (through which the 2FA person asked to join: a
    pending membership request) and a domain;
  - a verified domain of the org with `suggest` enrollment, and a person on
    it (the asker) whose session goes with asking to join and the suggested
    orgs; verified at the fake DNS-over-HTTPS resolver of fake_dns.py, which
    these hooks serve on FUZZ_DNS_PORT, where they publish the TXT record of
    every domain they add (without the variable: no asker);
  - two orgs of the member's: the owner asked to join one through its
    approval link (the owner's own pending request), and joins the other
    through its join link at a generated accept;
  - a workspace of the owner granted to the org through an install link (the
    grant and the managed workspace), with the member as a direct member and
    a pending invitation;
  - a second person with two-factor authentication on, whose session and
    current TOTP code (RFC 6238, computed here) go with `DELETE /v1/me/totp`
    and `POST /v1/me/recovery-codes`;
  - the owner's GitHub, Google and GitLab identities, linked through the fake
    provider of fake_oauth.py, which these hooks serve on FUZZ_OAUTH_PORT
    (scripts/fuzz.sh points its Worker there; without the variable nothing
    is linked).
  - single sign-on: an OIDC connection of the org (to the fake provider's
    issuer, discovered there) and a SAML one (from metadata XML), each on a
    verified domain of its own (with both fakes only);
  - SCIM: a token of the org, the bearer of every /scim/v2 case, a second
    one for the generated revocations, a user provisioned through it on the
    OIDC connection's domain and a group;
  - a trust policy (GitHub Actions) and a custom role of the org;
  - a platform administrator with 2FA on (the first address of FUZZ_ADMINS,
    which scripts/fuzz.sh puts in its Worker's PLATFORM_ADMINS), whose
    session and current TOTP code go with /v1/admin, and a person they act
    on (the victim); without the variable, none.

Path parameters get these ids, and some body fields (a transfer's user_id,
the ids of an authorization question, the current password, a join link's
token, an approval's role) their real values, in three cases of four; the
fourth keeps what was generated, so unknown and malformed values stay
covered. What a generated call destroys or decides (the org, the workspace,
a member, an invitation, a key, a link, a channel, a session, the grant,
2FA, an identity, a domain, a membership request) is seeded again after it
(an approved person is removed and asks again; the owner leaves an org they
joined; the asker withdraws a request they made); a
password the hooks do not know (changed by a call they did not see) is set
again through the emailed reset flow. For each case with
path parameters, path-ids.txt in the working directory gets a line `<case
id> seeded|generated`: whether every path id was the seeded one, which
reach.py needs to tell a 404 for missing data from a 404 on purpose.
Standard library only.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import struct
import time
import urllib.error
import urllib.parse
import urllib.request

import schemathesis

import fake_dns
import fake_oauth

BASE = os.environ["FUZZ_BASE"].rstrip("/")
PASSWORD = "fuzzing owner passphrase 1"


class SeedError(RuntimeError):
    """The seed could not be (re)built: reported as an error, never swallowed."""


class KeepRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the answer: the OAuth flow's redirects are followed by hand."""

    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(KeepRedirects)


def fetch(method, url, body=None, token=None, cookie=None):
    """(status, headers, JSON body or None) of one request, redirects not followed."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if cookie:
        req.add_header("cookie", cookie)
    try:
        with OPENER.open(req, timeout=30) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    return status, headers, (json.loads(raw) if raw else None)


def call(method, path, body=None, token=None):
    status, _, answer = fetch(method, BASE + path, body, token)
    return status, answer


def must(expected, answer, what):
    status, body = answer
    if status != expected:
        raise SeedError(f"fuzz seed: {what}: expected {expected}, got {status}: {body}")
    return body


PATH_IDS_FILE = os.path.join(os.getcwd(), "path-ids.txt")
PROVIDERS = ("github", "google", "gitlab")
# One of the console's own screens, always on the OAuth redirect allow-list
# (scripts/fuzz.sh serves the Worker with APP_URL = its base URL).
REDIRECT_URI = BASE + "/signin"
RECEIVER = "http://localhost:9/fuzz-receiver"  # loopback (development only), nothing listens: deliveries fail


SPENT_TOKENS = set()


# /v1/dev/emails lists a recipient's first 100 emails.
INBOX_LISTED = 100


def emailed_token(address, page, newest=False):
    """The token of the first (or newest) emailed link to `page` not used
    yet (the queue consumer is asynchronous: the mail may not be there at
    once; past the listing's 100 it never shows)."""
    for _ in range(150):
        status, body = call("GET", "/v1/dev/emails?to=" + urllib.parse.quote(address))
        if status == 200:
            for mail in reversed(body["data"]) if newest else body["data"]:
                found = re.search(re.escape(page) + r"#token=([^\s\"'<>&]+)", mail["text"])
                if found and found.group(1) not in SPENT_TOKENS:
                    SPENT_TOKENS.add(found.group(1))
                    return found.group(1)
            if len(body["data"]) >= INBOX_LISTED:
                break
        time.sleep(0.2)
    raise SeedError(f"fuzz seed: no new {page} email reached {address}")


def person(address, name):
    """Signs up and verifies `address`; returns its session."""
    must(202, call("POST", "/v1/auth/signup", {"email": address, "password": PASSWORD, "name": name}), "sign-up")
    token = emailed_token(address, "/verify-email")
    return must(200, call("POST", "/v1/auth/verify-email", {"token": token, "password": PASSWORD}), "verify")


def totp_code(secret_b32, step):
    """RFC 6238 (HOTP over SHA-1, 6 digits) at a 30-second step."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def new_org(token):
    org = must(201, call("POST", "/v1/orgs", {"name": "Fuzz org"}, token), "create org")
    return org


# /v1/dev/emails lists a recipient's first 100 emails: the member is
# replaced by a new person before their inbox fills up.
MEMBER_MAILS = 90


def invite_and_join(tenant_path, address, token, member_token, role="member"):
    """Invites `address` to the org or workspace at `tenant_path` and accepts as them."""
    must(201, call("POST", f"{tenant_path}/invitations", {"email": address, "role": role}, token), "invite")
    invite = emailed_token(address, "/invite")
    must(200, call("POST", "/v1/invitations/accept", {"token": invite}, member_token), "accept")


def join_member(tenant_path, token):
    """The member joins the org or workspace at `tenant_path`; a new member
    (joining both the org and the workspace) when the inbox is nearly full."""
    STATE["member_mails"] = STATE.get("member_mails", 0) + 1
    if STATE["member_mails"] < MEMBER_MAILS:
        invite_and_join(tenant_path, STATE["member"], token, member_access())
        return
    new_member()
    for tenant in (f"/v1/orgs/{STATE['org_id']}", f"/v1/workspaces/{STATE['ws_id']}"):
        invite_and_join(tenant, STATE["member"], token, member_access())
    STATE["member_mails"] = 2


def new_member():
    STATE["member"] = f"member-{time.time_ns()}@fuzz.example.com"
    session = person(STATE["member"], "Fuzz Member")
    STATE.update(member_access=session["access_token"], member_refresh=session["refresh_token"], member_mails=1)
    STATE["member_id"] = must(200, call("GET", "/v1/me", token=STATE["member_access"]), "member me")["id"]


def pending_invitation(tenant_path, token):
    address = f"pending-{time.time_ns()}@fuzz.example.com"
    inv = must(201, call("POST", f"{tenant_path}/invitations", {"email": address, "role": "admin"}, token), "pending invitation")
    return inv["id"]


def new_key(token, org_id):
    key = must(201, call("POST", f"/v1/orgs/{org_id}/api-keys", {"name": "fuzz", "scopes": ["org:read"]}, token), "key")
    STATE["key"] = key["key"]
    return key["id"]


def new_link(token, org_id):
    link = must(201, call("POST", f"/v1/orgs/{org_id}/install-links", {}, token), "install link")
    return link


def new_channel(token, org_id):
    """A channel to a receiver that never answers, and a delivery of its test event."""
    types = must(200, call("GET", "/v1/notification-event-types", token=token), "event types")["data"]
    body = {"url": RECEIVER, "description": "fuzz", "event_types": [types[0]["name"]]}
    channel = must(201, call("POST", f"/v1/orgs/{org_id}/notification-channels", body, token), "channel")["id"]
    must(202, call("POST", f"/v1/orgs/{org_id}/notification-channels/{channel}/test", {}, token), "test event")
    delivery = None
    for _ in range(50):  # failed once the (fast, in scripts/fuzz.sh) retries are spent; else pending
        status, page = call("GET", f"/v1/orgs/{org_id}/notification-channels/{channel}/deliveries", token=token)
        if status == 200 and page["data"]:
            delivery = page["data"][0]["id"]
            if page["data"][0]["status"] == "failed":
                break
        time.sleep(0.2)
    if delivery is None:
        raise SeedError("fuzz seed: the test event made no delivery")
    return channel, delivery


def password_login():
    return call("POST", "/v1/auth/login", {"email": STATE["owner"], "password": STATE["password"]})


def owner_login():
    """A new session of the owner, (status, body). A password the hooks do
    not know (changed by a call whose answer they did not see) is set again
    through the emailed reset flow first."""
    status, body = password_login()
    if status == 401 and reset_owner_password():
        status, body = password_login()
    return status, body


def session_id_of(signed_in):
    """The id of the session `signed_in` holds: the one its own listing marks
    `current` (newest first is not enough: two sign-ins in the same second,
    the fuzzer's own and this one, tie on `created_at`)."""
    sessions = must(200, call("GET", "/v1/me/sessions", token=signed_in["access_token"]), "sessions")
    current = [s["id"] for s in sessions["data"] if s.get("current")]
    if not current:
        raise SeedError("the sessions listing marks no session current")
    return current[0]


def new_session():
    """A second session of the owner; its id."""
    return session_id_of(must(200, owner_login(), "second session"))


def reset_owner_password():
    """Sets the owner's password back to PASSWORD through the emailed reset
    (keeping the linked identities); every session of theirs ends, so the
    second session is made again. False when that fails (no reset email: the
    owner's inbox listing is full; the reset refused): a new owner is seeded
    then."""
    if call("POST", "/v1/auth/password-reset", {"email": STATE["owner"]})[0] != 202:
        return False
    try:
        token = emailed_token(STATE["owner"], "/reset-password", newest=True)
    except SeedError:
        return False
    body = {"token": token, "new_password": PASSWORD, "keep_identities": list(PROVIDERS)}
    if call("POST", "/v1/auth/password-reset/confirm", body)[0] != 204:
        return False
    print("\nfuzz hooks: the owner's password had changed unseen; set again through a reset", flush=True)
    STATE["password"] = PASSWORD
    STATE["session_id"] = session_id_of(must(200, password_login(), "sign-in after the reset"))
    return True


FAKE = fake_oauth.serve(int(os.environ["FUZZ_OAUTH_PORT"])) if os.environ.get("FUZZ_OAUTH_PORT") else None
# Linking needs a sign-in of the last 10 minutes: one such session serves 9.
LINK_SESSION_SECONDS = 9 * 60


def link_session():
    """An access token of a session of the owner that signed in within
    LINK_SESSION_SECONDS (the one before is signed out)."""
    token = STATE.get("link_access")
    if token and time.monotonic() - STATE["link_since"] < LINK_SESSION_SECONDS:
        if call("GET", "/v1/me", token=token)[0] == 200:
            return token
    if token:
        call("POST", "/v1/auth/logout", token=token)
    body = must(200, owner_login(), "sign-in to link")
    STATE["link_access"], STATE["link_since"] = body["access_token"], time.monotonic()
    return STATE["link_access"]


def link_identities(providers=PROVIDERS):
    """Links each of `providers` the owner lacks, as the console does with a
    browser: POST /v1/me/identities/{provider} (its answer sets the flow
    cookie), the provider's authorize URL (the fake approves at once and
    redirects to the Worker's callback), the callback with the cookie (to
    the allowed page with `#login_code=`), then POST /v1/auth/oauth/complete
    with the code, the cookie and the owner's bearer token. Nothing without
    the fake."""
    if FAKE is None:
        return
    token = link_session()
    linked = {i["provider"] for i in must(200, call("GET", "/v1/me/identities", token=token), "identities")["data"]}
    for provider in providers:
        if provider in linked:
            continue
        status, headers, body = fetch("POST", f"{BASE}/v1/me/identities/{provider}", {"redirect_uri": REDIRECT_URI}, token)
        must(200, (status, body), f"link {provider}")
        cookie = (headers.get("set-cookie") or "").split(";")[0]
        status, headers, body = fetch("GET", body["authorize_url"])
        must(302, (status, body), f"{provider} authorization (fake provider)")
        status, headers, body = fetch("GET", headers["location"], cookie=cookie)
        must(302, (status, body), f"{provider} callback")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["location"]).fragment).get("login_code")
        if not code:
            raise SeedError(f"fuzz seed: {provider} callback sent no login code: {headers['location']}")
        status, _, body = fetch("POST", f"{BASE}/v1/auth/oauth/complete", {"login_code": code[0]}, token, cookie)
        must(200, (status, body), f"complete the {provider} link")


DNS = fake_dns.serve(int(os.environ["FUZZ_DNS_PORT"])) if os.environ.get("FUZZ_DNS_PORT") else None


def new_join_link(token, org_id, approval):
    """A join link of the org for members, with no cap on uses, for 30
    days (a run is shorter); the answer, with its token."""
    body = {"role": "member", "approval": approval, "expires_in_days": 30}
    return must(201, call("POST", f"/v1/orgs/{org_id}/join-links", body, token), "join link")


def seed_join_link(token):
    """A join link of the org that needs approval: its id (revoked by the
    generated deletes), its token (previewed; through it the 2FA person asks
    to join)."""
    link = new_join_link(token, STATE["org_id"], True)
    STATE["join_link_id"], STATE["join_token"] = link["id"], link["token"]


def request_to_join():
    """The 2FA person (not a member of the org) accepts the org's approval
    link: a pending membership request, which the generated approves and
    denies decide."""
    body = must(202, call("POST", "/v1/join-links/accept", {"token": STATE["join_token"]}, tfa_access()),
                "membership request")
    STATE["request_id"] = body["id"]


def seed_member_orgs(token):
    """Two orgs of the member's, each with a join link: through the one
    that needs approval the owner asked to join (their own pending request,
    which `DELETE /v1/me/membership-requests/{id}` withdraws); through the
    other the owner joins at a generated `POST /v1/join-links/accept`."""
    member = member_access()
    STATE["ask_token"] = new_join_link(member, new_org(member)["id"], True)["token"]
    STATE["open_org_id"] = new_org(member)["id"]
    STATE["open_token"] = new_join_link(member, STATE["open_org_id"], False)["token"]
    owner_request(token)


def owner_request(token):
    """The owner asks to join the member's org through its approval link."""
    body = must(202, call("POST", "/v1/join-links/accept", {"token": STATE["ask_token"]}, token), "the owner's request")
    STATE["my_request_id"] = body["id"]


def new_domain(token):
    """A new domain of the org, its TXT record published at the fake resolver
    (so that verifying verifies it); the answer. At the cap of 50 domains an
    org (the generated adds), those the hooks did not add are removed first."""
    org_id = STATE["org_id"]
    name = f"fuzz-{time.time_ns()}.example"
    answer = call("POST", f"/v1/orgs/{org_id}/domains", {"domain": name}, token)
    if answer[0] == 409 and answer[1].get("code") == "conflict":
        ours = {STATE.get(k) for k in ("domain_id", "suggest_domain_id", "sso_oidc_domain_id", "sso_saml_domain_id")}
        for d in must(200, call("GET", f"/v1/orgs/{org_id}/domains", token=token), "domains")["data"]:
            if d["id"] not in ours:
                call("DELETE", f"/v1/orgs/{org_id}/domains/{d['id']}", token=token)
        answer = call("POST", f"/v1/orgs/{org_id}/domains", {"domain": name}, token)
    domain = must(201, answer, "domain")
    if DNS is not None:
        DNS.publish(domain["txt_name"], domain["txt_value"])
    return domain


def seed_suggestion(token):
    """A verified domain of the org with `suggest` enrollment, and a person
    (the asker) whose verified address is on it, not a member: they may ask
    to join (`POST /v1/orgs/{org_id}/membership-requests`). Nothing without
    the fake resolver (nothing can be verified)."""
    if DNS is None:
        return
    org_id = STATE["org_id"]
    domain = new_domain(token)
    STATE["suggest_domain_id"], STATE["suggest_domain"] = domain["id"], domain["domain"]
    must(200, call("POST", f"/v1/orgs/{org_id}/domains/{domain['id']}/verify", {}, token), "verify domain")
    must(200, call("PATCH", f"/v1/orgs/{org_id}/domains/{domain['id']}", {"enrollment": "suggest"}, token),
         "suggest domain")
    STATE["asker"] = f"asker-{time.time_ns()}@{domain['domain']}"
    session = person(STATE["asker"], "Fuzz Asker")
    STATE.update(asker_access=session["access_token"], asker_refresh=session["refresh_token"])
    suggested = must(200, call("GET", "/v1/me/suggested-orgs", token=STATE["asker_access"]), "suggested orgs")
    if org_id not in {o["id"] for o in suggested["data"]}:
        raise SeedError(f"fuzz seed: {domain['domain']}, verified, suggests no org to the asker: {suggested}")

def verified_domain(token):
    """A new domain of the org, verified at the fake resolver; the answer."""
    domain = new_domain(token)
    must(200, call("POST", f"/v1/orgs/{STATE['org_id']}/domains/{domain['id']}/verify", {}, token), "verify domain")
    return domain


# A self-signed certificate for the SAML connection's metadata (its key was
# thrown away: no SAML response is ever signed for it).
SAML_CERT = "MIIDGTCCAgGgAwIBAgIURIuDv576W4v8r+3BNy3OyrJC7+IwDQYJKoZIhvcNAQELBQAwGzEZMBcGA1UEAwwQZnV6ei1pZHAuZXhhbXBsZTAgFw0yNjEyMDcwMDI1NDZaGA8yMTI2MTExMzAwMjU0NlowGzEZMBcGA1UEAwwQZnV6ei1pZHAuZXhhbXBsZTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBANZc/4HyILc3SiryulGHG39Yi2Yu0oX71r06EsZoOWJajKnvrKBas1VQHwqWF6pz62XFx2+x8YKbOsjxTHev1DxJiyzCEHfPgkdwim22aqxxvoZBzQ3ZU4OC/gh2wsGtK5gYtyGPk4MCQx+cTZlbouy2xhVgkD+46vbxKhOtSFKSjJudZggIgPzI85luBeemm1M05V/r6NQSvFiDm8wef5DXIwUEM13+E9gZUqEhIBsuE7uS0vNwUlbvhud7MZ+GRZdz4n14onaFlBfrpEsxJdS+96qEaJbPfsVfwx8KozANKG5ewgifc8ErTt386GjmhlNGWHupeT3RZBKmF5dLkoMCAwEAAaNTMFEwHQYDVR0OBBYEFPt5yS1Yv/RiAZkfHwatHhPoQusRMB8GA1UdIwQYMBaAFPt5yS1Yv/RiAZkfHwatHhPoQusRMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBALE7c2BAc7A7KY8ZIk7V4kupEA+852Iu8Z4EYgb6qTDn36C9j0LlTfIqwopJW52Ra/eoLPu3AGSofqlxfmuN0k0iblc6BreOLQl1F0IpomD63WHHHFTW6MkAHZfEvE8Q4ap0XgiGWXzk9BhAwRnq9w8zA6mqWJ8C7G19Z4t1rEIBIohncWWnRFddmxsjIjaGrTVEUvgUfcTT8yHgWXcPv2yeox/Da4b/1Ryv68LGUgYnYowZZilhHn74p27jx9NgEBUDtD9X+WabW62r7CuJ5Ju66odull4rwCizOsshFRd6UiqabbtKh1TuPkCUdOHI5sfogDrZuDpf00O9Cv1cDAo="


def saml_metadata(entity_id):
    return (f'<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f'{SAML_CERT}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            '<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>'
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            'Location="https://idp.fuzz.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>')


def new_sso_connection(token, kind):
    """A single sign-on connection of the org ("oidc": to the fake
    provider's issuer, which the Worker discovers; "saml": from metadata
    XML) on its own verified domain (a domain has one connection; no seeded
    person signs in on it, so a generated `sso_required` locks nobody out);
    its id."""
    org_id, domain = STATE["org_id"], STATE[f"sso_{kind}_domain"]
    if kind == "oidc":
        body = {"type": "oidc", "name": "Fuzz OIDC", "issuer": FAKE.base + "/idp", "client_id": "fuzz-idp-client",
                "client_secret": "fuzz-idp-secret", "domains": [domain]}
    else:
        body = {"type": "saml", "name": "Fuzz SAML", "metadata_xml": saml_metadata(f"https://{domain}/saml"),
                "domains": [domain]}
    answer = call("POST", f"/v1/orgs/{org_id}/sso-connections", body, token)
    if answer[0] == 409:  # the domain is taken (by a generated create): that connection goes first
        for c in must(200, call("GET", f"/v1/orgs/{org_id}/sso-connections", token=token), "connections")["data"]:
            if domain in c["domains"]:
                call("DELETE", f"/v1/orgs/{org_id}/sso-connections/{c['id']}", token=token)
        answer = call("POST", f"/v1/orgs/{org_id}/sso-connections", body, token)
    return must(201, answer, f"{kind} connection")["id"]


def seed_sso(token):
    """An OIDC and a SAML connection of the org, each on a verified domain
    of its own. Nothing without the fake resolver and the fake provider."""
    if DNS is None or FAKE is None:
        return
    for kind in ("oidc", "saml"):
        domain = verified_domain(token)
        STATE[f"sso_{kind}_domain"], STATE[f"sso_{kind}_domain_id"] = domain["domain"], domain["id"]
        STATE[f"sso_{kind}_id"] = new_sso_connection(token, kind)


def ensure_sso(token):
    """Both seeded connections still there and on: else made again, on a
    new verified domain if theirs went (the stateful phase deletes with ids
    taken from answers, not only the seeded ones these hooks map)."""
    if "sso_oidc_id" not in STATE:
        return
    org_id = STATE["org_id"]
    for kind in ("oidc", "saml"):
        status, conn = call("GET", f"/v1/orgs/{org_id}/sso-connections/{STATE[f'sso_{kind}_id']}", token=token)
        if status == 200:
            if not conn.get("enabled", True):
                must(200, call("PATCH", f"/v1/orgs/{org_id}/sso-connections/{conn['id']}", {"enabled": True}, token),
                     "connection on again")
            continue
        status, domain = call("GET", f"/v1/orgs/{org_id}/domains/{STATE[f'sso_{kind}_domain_id']}", token=token)
        if status != 200 or domain.get("state") != "verified":
            domain = verified_domain(token)
            STATE[f"sso_{kind}_domain"], STATE[f"sso_{kind}_domain_id"] = domain["domain"], domain["id"]
        STATE[f"sso_{kind}_id"] = new_sso_connection(token, kind)


SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def new_scim_token(token, name):
    return must(201, call("POST", f"/v1/orgs/{STATE['org_id']}/scim-tokens", {"name": name}, token), "SCIM token")


def scim_user():
    """A person provisioned through SCIM on the OIDC connection's domain; their id."""
    address = f"scim-{time.time_ns()}@{STATE['sso_oidc_domain']}"
    body = {"schemas": [SCIM_USER], "userName": address, "name": {"givenName": "Fuzz"}, "active": True}
    return must(201, call("POST", f"/scim/v2/{STATE['org_id']}/Users", body, STATE["scim_token"]), "SCIM user")["id"]


def scim_group():
    """A SCIM group (its name no role's: it gives nothing) with the SCIM user in it; its id."""
    body = {"schemas": [SCIM_GROUP], "displayName": "fuzz-group", "members": [{"value": STATE["scim_user_id"]}]}
    return must(201, call("POST", f"/scim/v2/{STATE['org_id']}/Groups", body, STATE["scim_token"]), "SCIM group")["id"]


def seed_scim(token):
    """A SCIM token of the org (the bearer of every /scim/v2 case), a
    second one (which the generated revocations get), a user provisioned
    through it and a group. Nothing without a verified domain for the user."""
    if "sso_oidc_domain" not in STATE:
        return
    STATE["scim_token"] = new_scim_token(token, "fuzz")["token"]
    STATE["spare_scim_token_id"] = new_scim_token(token, "fuzz spare")["id"]
    STATE["scim_user_id"] = scim_user()
    STATE["scim_group_id"] = scim_group()


def new_trust_policy(token):
    """A trust policy of the org for GitHub Actions' tokens; its id."""
    body = {"name": "fuzz deploys", "issuer": "https://token.actions.githubusercontent.com",
            "audience": f"latchkey:{STATE['org_id']}",
            "conditions": {"repository_id": "892364021", "ref": "refs/heads/main"},
            "scopes": ["org:read"], "max_ttl_seconds": 900}
    return must(201, call("POST", f"/v1/orgs/{STATE['org_id']}/trust-policies", body, token), "trust policy")["id"]


def new_role(token):
    """A custom role of the org; its key."""
    body = {"key": f"fuzz-{time.time_ns()}", "name": "Fuzz role", "description": "seeded", "permissions": ["org:read"]}
    return must(201, call("POST", f"/v1/orgs/{STATE['org_id']}/roles", body, token), "custom role")["key"]


def seed_workspace(token):
    """A workspace of the owner, granted to the org through an install link (an
    org may be granted 20 workspaces by slug an hour; links have no such
    limit), with the member as a direct member and a pending invitation."""
    ws = must(201, call("POST", "/v1/workspaces", {"name": "Fuzz workspace"}, token), "create workspace")["id"]
    link = new_link(token, STATE["org_id"])
    must(201, call("POST", "/v1/install-links/accept", {"token": link["token"], "workspace_id": ws}, token), "grant")
    STATE["ws_id"] = ws
    join_member(f"/v1/workspaces/{ws}", token)
    STATE["ws_invitation_id"] = pending_invitation(f"/v1/workspaces/{ws}", token)


def seed_spares(token):
    """An org and a workspace of the owner with nothing in them, which the
    generated deletes of an org and of a workspace get (seeding the whole
    org again after each would flood the member's inbox)."""
    STATE["spare_org_id"] = new_org(token)["id"]
    STATE["spare_ws_id"] = must(201, call("POST", "/v1/workspaces", {"name": "Fuzz spare"}, token), "spare workspace")["id"]


def seed_org(token):
    """The org and everything in it, and a workspace granted to it."""
    org = new_org(token)
    STATE["org_id"], STATE["org_slug"] = org["id"], org["slug"]
    join_member(f"/v1/orgs/{org['id']}", token)
    STATE["invitation_id"] = pending_invitation(f"/v1/orgs/{org['id']}", token)
    STATE["key_id"] = new_key(token, org["id"])
    STATE["install_link_id"] = new_link(token, org["id"])["id"]
    STATE["channel_id"], STATE["delivery_id"] = new_channel(token, org["id"])
    seed_join_link(token)
    request_to_join()
    STATE["domain_id"] = new_domain(token)["id"]
    seed_suggestion(token)
    seed_sso(token)
    seed_scim(token)
    STATE["trust_policy_id"] = new_trust_policy(token)
    STATE["role_key"] = new_role(token)
    seed_workspace(token)


def enable_2fa(token):
    """Turns 2FA on for the session's person; returns the base32 secret and the step used."""
    secret = must(200, call("POST", "/v1/me/totp", token=token), "enrol")["secret"]
    step = int(time.time()) // 30
    must(200, call("POST", "/v1/me/totp/confirm", {"code": totp_code(secret, step)}, token), "confirm 2FA")
    return secret, step


def seed_2fa_person():
    """A second person with 2FA on, for the routes that need a code."""
    address = f"tfa-{time.time_ns()}@fuzz.example.com"
    session = person(address, "Fuzz 2FA")
    secret, step = enable_2fa(session["access_token"])
    STATE.update(tfa=address, tfa_access=session["access_token"], tfa_refresh=session["refresh_token"],
                 tfa_secret=secret, tfa_last_step=step)


# PLATFORM_ADMINS of the Worker (scripts/fuzz.sh sets both): one
# administrator at a time; the next when one is locked by wrong codes.
ADMINS = [a for a in os.environ.get("FUZZ_ADMINS", "").split(",") if a]


def seed_admin():
    """A platform administrator (the next address of FUZZ_ADMINS) with 2FA
    on, and a person (the victim) whom the generated suspensions, look-ups
    and 2FA resets concern. Nothing without FUZZ_ADMINS."""
    if not ADMINS:
        STATE.pop("admin", None)
        return
    address = ADMINS.pop(0)
    session = person(address, "Fuzz Admin")
    secret, step = enable_2fa(session["access_token"])
    STATE.update(admin=address, admin_access=session["access_token"], admin_refresh=session["refresh_token"],
                 admin_secret=secret, admin_last_step=step)
    STATE["victim"] = f"victim-{time.time_ns()}@fuzz.example.com"
    victim = person(STATE["victim"], "Fuzz Victim")
    STATE["victim_id"] = must(200, call("GET", "/v1/me", token=victim["access_token"]), "victim me")["id"]


def admin_access():
    """A live access token of the administrator (the next one when theirs is gone)."""
    if not renewed("admin_access", "admin_refresh"):
        seed_admin()
    return STATE.get("admin_access") or fresh_access()


def seed():
    run = f"{time.time_ns()}"
    STATE["owner"] = f"owner-{run}@fuzz.example.com"
    STATE["password"] = PASSWORD
    owner_session = person(STATE["owner"], "Fuzz Owner")
    STATE.update(access=owner_session["access_token"], refresh=owner_session["refresh_token"])
    STATE["owner_id"] = must(200, call("GET", "/v1/me", token=STATE["access"]), "me")["id"]
    new_member()
    STATE["session_id"] = new_session()
    STATE.pop("link_access", None)
    link_identities()
    seed_2fa_person()  # before the org, which they ask to join
    if "admin" not in STATE:
        seed_admin()
    seed_org(STATE["access"])
    seed_spares(STATE["access"])
    seed_member_orgs(STATE["access"])


STATE = {}


def fresh_access():
    """A live access token of the owner. Generated requests may end the
    session (logout, revoking sessions, replaying a refresh token they saw)
    and, having seen the owner's address in an answer, lock its password
    sign-in with wrong guesses (429); so: refresh, else sign in (after a
    reset if the password changed unseen), else seed a new owner, org and ids."""
    status, body = call("POST", "/v1/auth/token", {"refresh_token": STATE["refresh"]})
    if status != 200:
        status, body = owner_login()
    if status == 200 and "access_token" in body:
        STATE["access"], STATE["refresh"] = body["access_token"], body["refresh_token"]
    else:
        seed()
    return STATE["access"]


def renewed(access, refresh):
    """STATE[access] if it still works, else a token pair from STATE[refresh]
    (kept in STATE); None when neither does."""
    status, _ = call("GET", "/v1/me", token=STATE[access])
    if status == 200:
        return STATE[access]
    status, body = call("POST", "/v1/auth/token", {"refresh_token": STATE[refresh]})
    if status != 200:
        return None
    STATE[access], STATE[refresh] = body["access_token"], body["refresh_token"]
    return STATE[access]


def member_access():
    """A live access token of the member (who takes part in invitations and transfers)."""
    token = renewed("member_access", "member_refresh")
    if token:
        return token
    body = must(200, call("POST", "/v1/auth/login", {"email": STATE["member"], "password": PASSWORD}), "member session")
    STATE["member_access"], STATE["member_refresh"] = body["access_token"], body["refresh_token"]
    return STATE["member_access"]


def tfa_access():
    """A live access token of the 2FA person; a new such person when theirs is gone."""
    if not renewed("tfa_access", "tfa_refresh"):
        seed_2fa_person()
    return STATE["tfa_access"]


def asker_access():
    """A live access token of the asker (signed in again with the password,
    which no generated call of theirs can change)."""
    token = renewed("asker_access", "asker_refresh")
    if token:
        return token
    body = must(200, call("POST", "/v1/auth/login", {"email": STATE["asker"], "password": PASSWORD}), "asker session")
    STATE["asker_access"], STATE["asker_refresh"] = body["access_token"], body["refresh_token"]
    return STATE["asker_access"]


TWO_FACTOR = {("DELETE", "/v1/me/totp"), ("POST", "/v1/me/recovery-codes")}
# The routes of a person whose address is on the org's suggesting domain.
ASKER = {("POST", "/v1/orgs/{org_id}/membership-requests"), ("GET", "/v1/me/suggested-orgs")}
API_KEY_ONLY = {("GET", "/v1/api-keys/current")}
# A key that revokes itself: a fresh one each case, so the seeded key lives on.
SELF_REVOKING = {("DELETE", "/v1/api-keys/current")}


def throwaway_key():
    body = {"name": "fuzz: ends itself", "scopes": ["org:read"]}
    return must(201, call("POST", f"/v1/orgs/{STATE['org_id']}/api-keys", body, fresh_access()), "throwaway key")["key"]


@schemathesis.auth(refresh_interval=300)
class OwnerSession:
    """A fresh owner session every 5 minutes (access tokens live 15), and at
    once after a 401; the 2FA person's on the routes that take a code, the
    asker's where an org is suggested to them (the owner's without the fake
    resolver)."""

    def get(self, case, ctx):
        return fresh_access()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        if (case.method, case.path) in TWO_FACTOR:
            data = tfa_access()
        elif (case.method, case.path) in ASKER and "asker" in STATE:
            data = asker_access()
        elif (case.method, case.path) in API_KEY_ONLY:
            data = STATE["key"]
        elif case.path.startswith("/scim/v2/") and "scim_token" in STATE:
            data = STATE["scim_token"]
        elif case.path.startswith("/v1/admin/") and "admin" in STATE:
            data = admin_access()
        elif (case.method, case.path) in SELF_REVOKING:
            data = throwaway_key()
        case.headers["Authorization"] = f"Bearer {data}"


DRAWS = {}


def keeps_generated(value):
    """One value in four stays as generated (deterministic: PYTHONHASHSEED=0).
    Counted per value: one generated again and again (a schema example, an
    empty string) is kept at about one draw in four, not at all or never."""
    key = repr(value)
    DRAWS[key] = DRAWS.get(key, 0) + 1
    return hash((key, DRAWS[key])) % 4 == 0


ID_SEGMENTS = (("/deliveries/", "delivery_id"), ("/notification-channels/", "channel_id"),
               ("/api-keys/", "key_id"), ("/install-links/", "install_link_id"), ("/sessions/", "session_id"),
               ("/join-links/", "join_link_id"), ("/domains/", "domain_id"),
               ("/v1/me/membership-requests/", "my_request_id"), ("/membership-requests/", "request_id"),
               ("/scim-tokens/", "spare_scim_token_id"), ("/trust-policies/", "trust_policy_id"),
               ("/sso-connections/", "sso_oidc_id"), ("/Users/", "scim_user_id"), ("/Groups/", "scim_group_id"))


def real_id(method, path, name):
    """The seeded id a path parameter names, if any."""
    if method == "DELETE" and path == "/v1/orgs/{org_id}":
        return STATE["spare_org_id"]
    if method == "DELETE" and path == "/v1/workspaces/{ws_id}":
        return STATE["spare_ws_id"]
    if name == "org_id":  # the org, also as the grantee in /v1/workspaces/{ws_id}/grants/{org_id}
        return STATE["org_id"]
    if name == "ws_id":  # the workspace, also as the org's managed workspace
        return STATE["ws_id"]
    if name == "user_id" and path.startswith("/v1/admin/"):  # the person the administrator acts on
        return STATE.get("victim_id")
    if name == "user_id":  # the member of the org and of the workspace
        return STATE["member_id"]
    if name == "key":  # the org's custom role
        return STATE["role_key"]
    if name == "connection_id":  # metadata and the ACS are SAML's; the sign-in starts either
        return STATE.get("sso_saml_id" if path.startswith("/v1/sso/") else "sso_oidc_id")
    if name == "provider":  # a fixed list, which the schema declares
        return None
    if name == "id":
        if "/invitations/" in path:
            return STATE["ws_invitation_id"] if path.startswith("/v1/workspaces/") else STATE["invitation_id"]
        for part, key in ID_SEGMENTS:
            if part in path:
                return STATE.get(key)
    return None


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    # Most cases get the real ids; one in four keeps what was generated, so
    # unknown and malformed ids stay covered.
    if not path_parameters:
        return path_parameters
    method, path = ctx.operation.method.upper(), ctx.operation.path
    out = dict(path_parameters)
    for name, value in path_parameters.items():
        if keeps_generated(value):
            continue
        found = real_id(method, path, name)
        if found is not None:
            out[name] = found
    return out


def body_values(method, path):
    """Body fields that need a real value to get past a 404 or a 401."""
    if (method, path) == ("POST", "/v1/orgs/{org_id}/ownership-transfer"):
        return {"user_id": STATE["member_id"]}
    if (method, path) == ("POST", "/v1/authorize"):
        return {"org_id": STATE["org_id"], "workspace_id": STATE["ws_id"]}
    if (method, path) == ("POST", "/v1/install-links/accept"):
        return {"workspace_id": STATE["ws_id"]}
    if (method, path) == ("POST", "/v1/workspaces/{ws_id}/grants"):
        return {"org_slug": STATE["org_slug"]}
    if (method, path) == ("POST", "/v1/me/password"):
        return {"current_password": STATE["password"]}
    if (method, path) == ("POST", "/v1/me/identities/{provider}"):
        return {"redirect_uri": REDIRECT_URI}
    if (method, path) == ("POST", "/v1/join-links/preview"):
        return {"token": STATE["join_token"]}
    if (method, path) == ("POST", "/v1/join-links/accept"):
        return {"token": STATE["open_token"]}
    if (method, path) == ("POST", "/v1/orgs/{org_id}/membership-requests/{id}/approve"):
        return {"role": "member"}
    if (method, path) == ("POST", "/v1/admin/users/lookup") and "victim" in STATE:
        return {"email": STATE["victim"]}
    if (method, path) == ("POST", "/v1/orgs/{org_id}/sso-connections") and "sso_oidc_id" in STATE:
        # An OIDC connection the Worker can discover, on the one verified
        # domain with none (removed again at once, see heal).
        return {"type": "oidc", "issuer": FAKE.base + "/idp", "domains": [STATE["suggest_domain"]]}
    if (method, path) == ("POST", "/v1/orgs/{org_id}/trust-policies"):
        return {"issuer": "https://token.actions.githubusercontent.com", "conditions": {"repository_id": "892364021"}}
    if path in ("/v1/auth/device/preview", "/v1/auth/device/approve", "/v1/auth/device/deny"):
        # A fresh pending request each time, so a decision can be made.
        return {"user_code": device_request()["user_code"]}
    if path == "/v1/auth/device/token":
        # One in two polls a request the owner approved: the session, once.
        started = device_request()
        if hash(started["user_code"]) % 2 == 0:
            call("POST", "/v1/auth/device/approve", {"user_code": started["user_code"]}, fresh_access())
        return {"device_code": started["device_code"]}
    return {}


def device_request():
    """A new device sign-in request (RFC 8628), pending."""
    return must(200, call("POST", "/v1/auth/device", {"client_name": "fuzz"}), "device request")


@schemathesis.hook
def map_body(ctx, body):
    if not isinstance(body, dict):
        return body
    values = body_values(ctx.operation.method.upper(), ctx.operation.path)
    out = dict(body)
    for name, value in values.items():
        if name in out and not keeps_generated(out[name]):
            out[name] = value
    # An authorization question names exactly one target (422 otherwise).
    if ctx.operation.path == "/v1/authorize" and not keeps_generated(out.get("permission")):
        dropped = "workspace_id" if hash(repr(out.get("permission"))) % 2 else "org_id"
        kept = "org_id" if dropped == "workspace_id" else "workspace_id"
        out.pop(dropped, None)
        if kept not in out:
            out[kept] = values[kept]
    return out


@schemathesis.hook
def map_query(ctx, query):
    # A generated cursor is never one the API issued (422): three in four go;
    # the OAuth and single sign-on starts get an allowed redirect_uri.
    if not isinstance(query, dict):
        return query
    out = dict(query)
    if "cursor" in out and not keeps_generated(out["cursor"]):
        del out["cursor"]
    if ctx.operation.path in ("/v1/auth/oauth/{provider}/authorize", "/v1/auth/sso/{connection_id}/authorize") \
            and "redirect_uri" in out:
        if not keeps_generated(out["redirect_uri"]):
            out["redirect_uri"] = REDIRECT_URI
    return out


# Headers that frame the HTTP message: a generated value (say, a
# `content-length` that is no number) is refused by the HTTP server before
# the Worker runs (workerd's plain-text 400 here, the edge's in production),
# so it tests no part of the API.
FRAMING_HEADERS = {"content-length", "transfer-encoding", "host", "connection", "keep-alive", "te", "trailer",
                   "upgrade", "expect"}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers and any(name.lower() in FRAMING_HEADERS for name in case.headers):
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in FRAMING_HEADERS}
    # A TOTP code is good for its 30-second step (and one either side), once:
    # computed at send time, the next unused step, while there is one.
    who = code_person(case.method, case.path)
    if who and isinstance(case.body, dict) and "code" in case.body:
        if keeps_generated(case.body["code"]):
            return
        now = int(time.time()) // 30
        step = max(STATE[f"{who}_last_step"] + 1, now - 1)
        if step <= now + 1:
            case.body["code"] = totp_code(STATE[f"{who}_secret"], step)
            STATE[f"{who}_pending_step"] = step


def code_person(method, path):
    """Whose TOTP code a route takes: the 2FA person's ("tfa"), the
    administrator's ("admin"), or nobody's (None)."""
    if (method, path) in TWO_FACTOR:
        return "tfa"
    if path.startswith("/v1/admin/") and "admin" in STATE:
        return "admin"
    return None


def ok(response):
    return 200 <= response.status_code < 300


@schemathesis.hook
def after_call(ctx, case, response):
    """Seeds again what a generated call destroyed or changed. A seed the
    Worker refuses (say, the org's 100 pending invitations reached) is
    reported and skipped: the stale id then shows in reach.py's figures."""
    note_path_ids(case)
    try:
        heal(case, response)
    except SeedError as e:
        print(f"\n{e} (after {case.method} {case.path} answered {response.status_code})", flush=True)


def note_path_ids(case):
    """Whether the case went out with the seeded ids (as they were when it
    was sent): its path ids, and the body fields that name real things (a
    grant's org slug kept as generated finds no org: a 404 on purpose)."""
    params = case.path_parameters or {}
    if not params:
        return
    body = case.body if isinstance(case.body, dict) else {}
    if any(name in body and body[name] != value for name, value in body_values(case.method, case.path).items()):
        with open(PATH_IDS_FILE, "a", encoding="utf-8") as f:
            f.write(f"{case.id} generated\n")
        return
    def is_seeded(name, value):
        if name == "provider":
            return value in PROVIDERS
        return real_id(case.method, case.path, name) in (None, value)

    seeded = all(is_seeded(name, value) for name, value in params.items())
    with open(PATH_IDS_FILE, "a", encoding="utf-8") as f:
        f.write(f"{case.id} {'seeded' if seeded else 'generated'}\n")


CREATED = {"/v1/orgs/{org_id}/sso-connections": "sso-connections", "/v1/orgs/{org_id}/trust-policies": "trust-policies",
           "/v1/orgs/{org_id}/roles": "roles", "/v1/orgs/{org_id}/scim-tokens": "scim-tokens"}


def heal(case, response):
    method, path, params = case.method, case.path, case.path_parameters or {}
    if (method, path) in TWO_FACTOR:
        if ok(response) and "tfa_pending_step" in STATE:
            STATE["tfa_last_step"] = STATE.pop("tfa_pending_step")
        if response.status_code == 204:  # 2FA is off: on again, with a new secret
            STATE["tfa_secret"], STATE["tfa_last_step"] = enable_2fa(tfa_access())
        elif response.status_code == 429:  # too many wrong codes: the person is locked for a while
            seed_2fa_person()
        return
    if path.startswith("/v1/admin/") and "admin" in STATE:
        if ok(response) and "admin_pending_step" in STATE:
            STATE["admin_last_step"] = STATE.pop("admin_pending_step")
        if response.status_code == 429:  # locked by wrong codes: the next administrator
            seed_admin()
        return
    if not ok(response):
        return
    # The owner's token is fetched only by a branch that seeds (a refresh spends the refresh token).
    org = params.get("org_id") == STATE["org_id"]
    if (method, path) == ("DELETE", "/v1/orgs/{org_id}") and params.get("org_id") == STATE["spare_org_id"]:
        STATE["spare_org_id"] = new_org(fresh_access())["id"]
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}") and org:
        seed_org(fresh_access())
    elif (method, path) == ("PATCH", "/v1/orgs/{org_id}") and org:
        STATE["org_slug"] = response.json()["slug"]  # a generated rename may change it
    elif (method, path) == ("DELETE", "/v1/workspaces/{ws_id}") and params.get("ws_id") == STATE["spare_ws_id"]:
        STATE["spare_ws_id"] = must(201, call("POST", "/v1/workspaces", {"name": "Fuzz spare"}, fresh_access()),
                                    "spare workspace")["id"]
    elif (method, path) == ("DELETE", "/v1/workspaces/{ws_id}") and params.get("ws_id") == STATE["ws_id"]:
        seed_workspace(fresh_access())
    elif method == "DELETE" and path in ("/v1/workspaces/{ws_id}/grants/{org_id}",
                                         "/v1/orgs/{org_id}/managed-workspaces/{ws_id}"):
        if params.get("ws_id") == STATE["ws_id"]:
            seed_workspace(fresh_access())  # a relinquished workspace is not granted again by slug
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/members/{user_id}") and org:
        if call("GET", f"/v1/orgs/{STATE['org_id']}", token=fresh_access())[0] != 200:
            seed_org(fresh_access())  # the owner left (another owner was made meanwhile)
        elif params.get("user_id") == STATE["member_id"]:
            join_member(f"/v1/orgs/{STATE['org_id']}", fresh_access())
    elif (method, path) == ("DELETE", "/v1/workspaces/{ws_id}/members/{user_id}") and params.get("ws_id") == STATE["ws_id"]:
        if params.get("user_id") == STATE["member_id"]:
            join_member(f"/v1/workspaces/{STATE['ws_id']}", fresh_access())
    elif (method, path) == ("POST", "/v1/orgs/{org_id}/ownership-transfer") and org:
        # The member owns the org now and the owner is an admin: back again.
        must(200, call("POST", f"/v1/orgs/{STATE['org_id']}/ownership-transfer", {"user_id": STATE["owner_id"]},
                       member_access()), "transfer back")
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/invitations/{id}") and params.get("id") == STATE["invitation_id"]:
        STATE["invitation_id"] = pending_invitation(f"/v1/orgs/{STATE['org_id']}", fresh_access())
    elif (method, path) == ("DELETE", "/v1/workspaces/{ws_id}/invitations/{id}") and params.get("id") == STATE["ws_invitation_id"]:
        STATE["ws_invitation_id"] = pending_invitation(f"/v1/workspaces/{STATE['ws_id']}", fresh_access())
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/api-keys/{id}") and params.get("id") == STATE["key_id"]:
        STATE["key_id"] = new_key(fresh_access(), STATE["org_id"])
    elif (method, path) == ("POST", "/v1/orgs/{org_id}/api-keys/{id}/rotate") and params.get("id") == STATE["key_id"]:
        rotated = response.json()  # the old key is no longer active
        STATE["key_id"], STATE["key"] = rotated["id"], rotated["key"]
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/install-links/{id}") and params.get("id") == STATE["install_link_id"]:
        STATE["install_link_id"] = new_link(fresh_access(), STATE["org_id"])["id"]
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/notification-channels/{id}") and params.get("id") == STATE["channel_id"]:
        STATE["channel_id"], STATE["delivery_id"] = new_channel(fresh_access(), STATE["org_id"])
    elif (method, path) == ("DELETE", "/v1/me/sessions/{id}") and params.get("id") == STATE["session_id"]:
        STATE["session_id"] = new_session()
    elif (method, path) == ("POST", "/v1/me/password"):
        # The password changed and the owner's other sessions ended (should
        # the new password not be the one read here, the sign-in resets it).
        if isinstance(case.body, dict) and isinstance(case.body.get("new_password"), str):
            STATE["password"] = case.body["new_password"]
        STATE["session_id"] = new_session()
    elif (method, path) == ("DELETE", "/v1/me/identities/{provider}"):
        link_identities([params.get("provider")])
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/join-links/{id}") and params.get("id") == STATE["join_link_id"]:
        seed_join_link(fresh_access())
    elif (method, path) == ("POST", "/v1/join-links/accept") and response.status_code == 201:
        # The owner joined the member's open org: they leave it again.
        org_id = response.json()["org"]["id"]
        must(204, call("DELETE", f"/v1/orgs/{org_id}/members/{STATE['owner_id']}", token=fresh_access()), "leave")
    elif method == "POST" and path.startswith("/v1/orgs/{org_id}/membership-requests/{id}/") and org:
        if params.get("id") == STATE["request_id"]:
            decided = response.json()
            if decided["status"] == "approved":  # the 2FA person is a member: removed, so they may ask again
                must(204, call("DELETE", f"/v1/orgs/{STATE['org_id']}/members/{decided['user']['id']}",
                               token=fresh_access()), "remove the approved")
            request_to_join()
    elif (method, path) == ("DELETE", "/v1/me/membership-requests/{id}") and params.get("id") == STATE["my_request_id"]:
        owner_request(fresh_access())
    elif (method, path) == ("POST", "/v1/orgs/{org_id}/membership-requests") and response.status_code == 201:
        # The asker asked: withdrawn, so that the next case may ask again.
        asked = response.json()["id"]
        must(204, call("DELETE", f"/v1/me/membership-requests/{asked}", token=asker_access()), "withdraw")
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/domains/{id}") and params.get("id") == STATE["domain_id"]:
        STATE["domain_id"] = new_domain(fresh_access())["id"]
    elif (method, path) == ("PUT", "/v1/orgs/{org_id}/api-key-policy") and org:
        # A generated policy may require an expiry the seeded keys lack: back to none.
        must(200, call("PUT", f"/v1/orgs/{STATE['org_id']}/api-key-policy", {"require_expiry": False},
                       fresh_access()), "key policy back")
    elif method == "POST" and path in CREATED and response.status_code == 201 and org:
        # What a generated create made goes again: the org's caps stay far
        # off, and no generated connection takes the asker's domain.
        made = response.json()
        call("DELETE", f"/v1/orgs/{STATE['org_id']}/{CREATED[path]}/{made.get('id') or made.get('key')}",
             token=fresh_access())
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/scim-tokens/{id}") and org and "scim_token" in STATE:
        if params.get("id") == STATE["spare_scim_token_id"]:
            STATE["spare_scim_token_id"] = new_scim_token(fresh_access(), "fuzz spare")["id"]
        elif call("GET", f"/scim/v2/{STATE['org_id']}/Schemas", token=STATE["scim_token"])[0] != 200:
            STATE["scim_token"] = new_scim_token(fresh_access(), "fuzz")["token"]  # a stateful case revoked the bearer
    elif path == "/scim/v2/{org_id}/Users/{id}" and method != "GET" and params.get("id") == STATE.get("scim_user_id"):
        # Deleted or set inactive: deprovisioned (no longer a SCIM User of the org).
        if call("GET", f"/scim/v2/{STATE['org_id']}/Users/{STATE['scim_user_id']}", token=STATE["scim_token"])[0] != 200:
            STATE["scim_user_id"] = scim_user()
    elif (method, path) == ("DELETE", "/scim/v2/{org_id}/Groups/{id}") and params.get("id") == STATE.get("scim_group_id"):
        STATE["scim_group_id"] = scim_group()
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/trust-policies/{id}") and params.get("id") == STATE.get("trust_policy_id"):
        STATE["trust_policy_id"] = new_trust_policy(fresh_access())
    elif (method, path) == ("DELETE", "/v1/orgs/{org_id}/roles/{key}") and params.get("key") == STATE["role_key"]:
        STATE["role_key"] = new_role(fresh_access())
    elif org and (path == "/v1/orgs/{org_id}/sso-connections/{id}" and method in ("DELETE", "PATCH")
                  or (method, path) == ("DELETE", "/v1/orgs/{org_id}/domains/{id}")):
        # Gone, turned off (the sign-in would 404) or its domain gone.
        ensure_sso(fresh_access())


seed()
