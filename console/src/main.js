// The console's entry: restores the session from the refresh cookie, then
// routes. Every screen is a function (params, ctx) → Node | Promise<Node>.
import { route, match, start, navigate, takeFragment } from "./router.js";
import { session } from "./session.js";
import { state, loadNav, clearNav } from "./state.js";
import { shell, resetShell, setOrg, markActive } from "./shell.js";
import { h, screen, empty } from "./ui.js";
import * as auth from "./screens/auth.js";
import * as links from "./screens/links.js";
import * as joinlinks from "./screens/joinlinks.js";
import * as orgs from "./screens/orgs.js";
import * as team from "./screens/team.js";
import * as rolesScreen from "./screens/roles.js";
import * as keys from "./screens/keys.js";
import * as trustpolicies from "./screens/trustpolicies.js";
import * as installs from "./screens/installs.js";
import * as audit from "./screens/audit.js";
import * as notifications from "./screens/notifications.js";
import * as domains from "./screens/domains.js";
import * as sso from "./screens/sso.js";
import * as workspaces from "./screens/workspaces.js";
import * as account from "./screens/account.js";
import * as adminScreen from "./screens/admin.js";
import * as deviceScreen from "./screens/device.js";

// Signed out (and the pages that emails link to).
route("/signin", auth.signIn, { public: true, bare: true, guest: true });
route("/signup", auth.signUp, { public: true, bare: true, guest: true });
route("/check-email", auth.checkEmail, { public: true, bare: true });
route("/verify-email", auth.verifyEmail, { public: true, bare: true });
route("/reset-password", auth.resetPassword, { public: true, bare: true });
route("/invite", links.invite, { public: true, bare: true });
route("/install", links.install, { public: true, bare: true });
route("/join", joinlinks.join, { public: true, bare: true });
route("/confirm-channel-email", links.confirmChannelEmail, { public: true, bare: true });
// Signed in.
route("/", home);
route("/orgs/new", orgs.createOrg);
route("/orgs/:org", (p) => navigate(`/orgs/${p.org}/team`, { replace: true }));
route("/orgs/:org/settings", orgs.general);
route("/orgs/:org/team", team.team);
route("/orgs/:org/roles", rolesScreen.roles);
route("/orgs/:org/api-keys", keys.apiKeys);
route("/orgs/:org/trust-policies", trustpolicies.trustPolicies);
route("/orgs/:org/install-links", installs.installLinks);
route("/orgs/:org/audit-log", audit.auditLog);
route("/orgs/:org/notification-channels", notifications.channels);
route("/orgs/:org/domains", domains.domains);
route("/orgs/:org/sso", sso.sso);
route("/workspaces/new", workspaces.createWorkspace);
route("/workspaces/:ws", workspaces.workspace);
route("/account", account.profile);
route("/admin", adminScreen.admin);
// /settings/security is public: signed out, it offers sign-in (and it is
// where "Continue with …" returns when a provider is linked).
route("/settings/security", account.security, { public: true });
// A CLI's sign-in (RFC 8628): /device#user_code=… or typed. Public so that,
// signed out, it keeps the code while sending the person to sign in.
route("/device", deviceScreen.device, { public: true });

// The fragment (#token=…, #login_code=…) is read once, before anything else,
// and removed from the address bar.
const fragment = takeFragment();
let firstRender = true;
let renders = 0;

async function home() {
  if (state.orgs.length) return navigate(`/orgs/${state.orgs[0].id}/team`, { replace: true });
  return screen("Welcome to Latchkey",
    empty("You are not in an organization yet. Create one to invite your team and create API keys, or open the invitation link a teammate emailed you.",
      h("a", { href: "/orgs/new", class: "button primary" }, "Create organization")),
    await domains.suggestions());
}

function notFound() {
  return screen("Page not found", empty("There is nothing at this address.", h("a", { href: "/" }, "Go to the console")));
}

async function render() {
  const seq = ++renders;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const m = match(path) || { view: notFound, params: {}, public: true, bare: !session.signedIn() };
  const ctx = { fragment: firstRender ? fragment : new URLSearchParams(), query };
  firstRender = false;
  if (!m.public && !session.signedIn()) {
    return navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, { replace: true });
  }
  if (m.guest && session.signedIn()) return navigate(safeNext(query.get("next")), { replace: true });
  let main;
  if (m.bare || !session.signedIn()) {
    resetShell();
    main = h("main", { id: "main", class: "bare", tabindex: "-1" });
    document.getElementById("app").replaceChildren(main);
  } else {
    // The sidebar loads once, then refreshes in the background on every
    // navigation (a workspace shared or revoked meanwhile shows up).
    if (!state.loaded) await loadNav().catch(() => {});
    else loadNav().catch(() => {});
    if (seq !== renders) return;
    if (m.params.org) setOrg(m.params.org);
    main = shell().main;
    markActive();
  }
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading…"));
  let node;
  try {
    node = await m.view(m.params, ctx);
  } catch (e) {
    node = e && e.status === 404
      ? screen("Not found", empty("This does not exist, or you no longer have access to it.", h("a", { href: "/" }, "Go to the console")))
      : screen("Something went wrong", h("p", { class: "form-error", role: "alert" }, e.message || String(e)));
  }
  if (seq !== renders || !(node instanceof Node)) return;
  main.replaceChildren(node);
  const heading = main.querySelector("h1");
  if (heading && document.activeElement !== document.body) heading.focus();
  else if (heading && seq > 1) heading.focus();
}

// Only same-site paths are followed after sign-in (never another origin).
export function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

session.onChange((user) => {
  if (!user) {
    clearNav();
    resetShell();
  }
});

// Signed out in another tab, or the session ended on the server.
let wasSignedIn = false;
session.onChange(() => {
  const now = session.signedIn();
  if (wasSignedIn && !now) {
    const m = match(location.pathname);
    if (!m || !m.public) navigate("/signin", { replace: true });
  }
  wasSignedIn = now;
});

// A page opened with a login code (back from an OAuth provider) or a link
// token needs no refresh first only when it will not use a session; asking
// anyway keeps one path.
await session.refresh();
wasSignedIn = session.signedIn();
start(render);
