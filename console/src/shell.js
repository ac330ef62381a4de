// The signed-in layout: a sidebar (org switcher, Organization Settings,
// Workspaces with "Shared With Me", Account Settings, sign out) and the main
// area the router fills. On a phone the sidebar folds behind a Menu button.
import { h } from "./ui.js";
import { state, onNav, can, org } from "./state.js";
import { session } from "./session.js";
import { navigate } from "./router.js";

let built = null;
let currentOrg = null;

// The screens of Organization Settings, in sidebar order. A new screen is one
// line here plus a route in main.js and a module in screens/. A third entry
// names the permission the org view must list for the link to show.
export const ORG_SCREENS = [
  ["settings", "General"],
  ["team", "Team"],
  ["roles", "Roles"],
  ["api-keys", "API Keys"],
  ["trust-policies", "Trust policies", "api_keys:write"],
  ["install-links", "Install links"],
  ["notification-channels", "Notification channels"],
  ["domains", "Domains"],
  ["sso", "Single sign-on"],
  ["audit-log", "Audit log"],
];

export function shell() {
  if (built && document.body.contains(built.root)) return built;
  const nav = h("nav", { id: "sidebar", "aria-label": "Console" });
  const toggle = h("button", { type: "button", class: "menu secondary", "aria-expanded": "false", "aria-controls": "sidebar" }, "Menu");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  });
  const main = h("main", { id: "main", tabindex: "-1" });
  const root = h("div", { class: "layout" }, h("header", { class: "topbar" }, h("a", { href: "/", class: "brand" }, "Latchkey"), toggle), nav, main);
  document.getElementById("app").replaceChildren(root);
  built = { root, nav, main, toggle };
  drawNav();
  return built;
}

export function resetShell() {
  built = null;
}

export function setOrg(id) {
  if (id && id !== currentOrg) {
    currentOrg = id;
    drawNav();
  }
}

export function activeOrg() {
  return currentOrg && state.orgs.some((o) => o.id === currentOrg) ? currentOrg : state.orgs[0]?.id || null;
}

onNav(() => built && drawNav());

function link(href, text, extra) {
  return h("li", {}, h("a", { href }, text, extra));
}

function drawNav() {
  if (!built) return;
  const orgId = activeOrg();
  const parts = [];
  if (state.orgs.length) {
    const select = h("select", { id: "org-switch" },
      state.orgs.map((o) => h("option", { value: o.id, selected: o.id === orgId }, o.name)));
    select.addEventListener("change", () => {
      currentOrg = select.value;
      const tail = location.pathname.match(/^\/orgs\/[^/]+\/([^/]+)/);
      navigate(`/orgs/${select.value}/${tail ? tail[1] : "team"}`);
    });
    parts.push(h("div", { class: "field" }, h("label", { for: "org-switch" }, "Organization"), select));
  }
  parts.push(h("a", { href: "/orgs/new", class: "new" }, "Create organization"));
  if (orgId) {
    parts.push(h("h2", {}, "Organization Settings"),
      h("ul", {}, ORG_SCREENS.filter(([, , needs]) => !needs || can(org(orgId), needs))
        .map(([path, label]) => link(`/orgs/${orgId}/${path}`, label))));
  }
  parts.push(h("h2", {}, "Workspaces"),
    h("h3", {}, "My workspaces"),
    state.workspaces.length
      ? h("ul", { id: "my-workspaces" }, state.workspaces.map((w) => link(`/workspaces/${w.id}`, w.name)))
      : h("p", { class: "hint" }, "None yet."),
    h("a", { href: "/workspaces/new", class: "new" }, "New workspace"),
    h("h3", {}, "Shared With Me"),
    state.shared.length
      ? h("ul", { id: "shared-with-me" }, state.shared.map((s) => s.requires === "two_factor"
          // Granted to an org that requires 2FA the person lacks: the API
          // names the workspace by id only, and opening it needs 2FA first.
          ? h("li", { class: "locked" }, h("a", { href: "/settings/security" }, "Turn on two-factor authentication to open"),
              h("span", { class: "via" }, ` a workspace shared via ${s.org.name}`))
          : link(`/workspaces/${s.workspace.id}`, s.workspace.name, s.via_org ? h("span", { class: "via" }, ` via ${s.via_org.name}`) : null)))
      : h("p", { class: "hint", id: "shared-empty" }, "Workspaces a customer shares with your organization appear here."),
    h("h2", {}, "Account Settings"),
    h("ul", {}, link("/account", "Profile"), link("/settings/security", "Security")),
    // A page of its own (console/docs/, Swagger UI), loaded only when opened;
    // its "Try it out" picks up this session through the refresh cookie.
    h("h2", {}, "Developers"),
    h("ul", {}, link("/docs", "API reference")));
  if (state.me?.platform_admin) parts.push(h("h2", {}, "Platform"), h("ul", {}, link("/admin", "Administration")));
  if (state.me?.two_factor_reset) {
    parts.unshift(h("p", { class: "notice", id: "two-factor-reset" }, "Your two-factor authentication was reset. ",
      h("a", { href: "/settings/security" }, "Set it up again")));
  }
  const out = h("button", { type: "button", class: "secondary signout" }, "Sign out");
  out.addEventListener("click", async () => {
    out.disabled = true;
    await session.signOut();
    navigate("/signin", { replace: true });
  });
  parts.push(h("p", { class: "who" }, state.me ? state.me.email : ""), out);
  built.nav.replaceChildren(...parts);
  markActive();
}

export function markActive() {
  if (!built) return;
  for (const a of built.nav.querySelectorAll("a[href]")) {
    const here = a.getAttribute("href") === location.pathname;
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  built.nav.classList.remove("open");
  built.toggle.setAttribute("aria-expanded", "false");
}
