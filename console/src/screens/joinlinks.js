// Join links: Organization Settings → Team → Join links (create, copy once,
// revoke), and /join#token=…, where a shared link lands (preview; join when
// signed in; sign up through it, which joins once the address is verified).
import { api, all, enc } from "../api.js";
import { session } from "../session.js";
import { loadNav, state } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, section, form, toast, dangerAction, action, table, empty, when, copyButton, badge } from "../ui.js";
import { signInBox } from "./auth.js";
import { openLink, keepForOAuth } from "./links.js";

const STATES = { active: ["Active", "ok"], expired: ["Expired", ""], revoked: ["Revoked", ""], used_up: ["Used up", "warn"] };

// The Join links section of an org's Team screen. `roles` are the roles the
// Worker says the signed-in person may share a link with (its
// `join_link_roles`, then the custom roles they may invite with), as
// [value, label] pairs, lowest first.
/** @param {import("../api.js").Path<"/v1/orgs/{org_id}">} base */
export function joinLinksSection(base, roles) {
  const list = h("div");
  const reveal = h("div");
  const label = roleLabels(roles);

  async function draw() {
    const links = await all(`${base}/join-links`);
    list.replaceChildren(links.length
      ? table("Join links", ["Role", "Domains", "Uses", "Expires", "State", "Actions"], links.map((l) => [
          label(l.role),
          l.allowed_domains.length ? l.allowed_domains.join(", ") : "Any verified address",
          (l.max_uses ? `${l.uses} of ${l.max_uses}` : String(l.uses)) + (l.approval ? " (approval)" : ""),
          when(l.expires_at),
          badge(...(STATES[l.state] || [l.state, ""])),
          l.state === "active"
            ? dangerAction("Revoke", { title: "Revoke this join link?", body: "Nobody else can join through it. People who joined stay.", confirm: "Revoke" }, async () => {
                await api("DELETE", `${base}/join-links/${enc(l.id)}`);
                toast("Join link revoked");
                await draw();
              }, { "aria-label": `Revoke the ${l.role} join link` })
            : "",
        ]))
      : empty("No join links yet. Create one to let colleagues join without an invitation each."));
  }

  const create = form({
    id: "create-join-link",
    fields: [
      { name: "role", label: "Role", type: "select", value: "member", options: roles },
      { name: "domains", label: "Allowed email domains", placeholder: "example.com, example.org", hint: "Optional. Exact domains, comma-separated: only verified addresses on them may join." },
      { name: "max_uses", label: "Most people who may join", type: "number", min: 1, max: 10000, hint: "Optional. Empty: no cap." },
      { name: "days", label: "Works for", type: "select", value: "7", options: [["1", "1 day"], ["7", "7 days"], ["30", "30 days"]] },
      { name: "approval", label: "An admin approves each person", type: "checkbox", hint: "People who open the link ask to join; you approve or deny them under Requests." },
    ],
    submit: "Create join link",
    onSubmit: async (v, f) => {
      const domains = v.domains.split(",").map((d) => d.trim()).filter(Boolean);
      const body = { role: v.role, expires_in_days: Number(v.days), approval: v.approval };
      if (domains.length) body.allowed_domains = domains;
      if (v.max_uses) body.max_uses = Number(v.max_uses);
      let made;
      try {
        made = await api("POST", `${base}/join-links`, body);
      } catch (e) {
        if (e.code === "validation_failed" && /domain/.test(e.message)) {
          f.fieldError("domains", "Use exact domain names such as example.com (no wildcards).");
          return;
        }
        throw e;
      }
      reveal.replaceChildren(h("div", { class: "card reveal" },
        h("p", {}, "Share this link with your colleagues. It is shown only now."),
        h("div", { class: "secret-row" }, h("code", { id: "join-url" }, made.url), copyButton(made.url, "Copy link"))));
      await draw();
    },
  });
  const root = section("Join links",
    h("p", {}, "One link many people can use to join with a role, until it expires, runs out or you revoke it."),
    reveal, create, list);
  return { root, draw };
}

// The Requests section of an org's Team screen: pending membership requests
// (from join links that need approval, or from suggested domains), approved
// with a role from `roles` (as for [joinLinksSection]) or denied.
/** @param {import("../api.js").Path<"/v1/orgs/{org_id}">} base */
export function requestsSection(base, roles, onJoined) {
  const list = h("div");
  const label = roleLabels(roles);
  async function draw() {
    const pending = await all(`${base}/membership-requests?status=pending`);
    list.replaceChildren(pending.length
      ? table("Membership requests", ["Name", "Email", "Via", "Asked", "Role", "Actions"], pending.map((r) => {
          const role = h("select", { "aria-label": `Role for ${r.user.email}` }, roles.map(([value, name]) => h("option", { value, selected: value === r.role }, name)));
          return [
            r.user.name, r.user.email, r.via === "join_link" ? "Join link" : "Domain suggestion", when(r.created_at), role,
            h("div", { class: "row-actions" },
              action("Approve", async () => {
                await api("POST", `${base}/membership-requests/${enc(r.id)}/approve`, { role: role.value });
                toast(`${r.user.email} joined as ${label(role.value)}`);
                await draw();
                await onJoined();
              }, { "aria-label": `Approve ${r.user.email}`, class: "primary" }),
              dangerAction("Deny", { title: `Deny ${r.user.email}?`, body: "They are told by email. They may ask again.", confirm: "Deny" }, async () => {
                await api("POST", `${base}/membership-requests/${enc(r.id)}/deny`);
                toast(`The request of ${r.user.email} was denied`);
                await draw();
              }, { "aria-label": `Deny ${r.user.email}` })),
          ];
        }))
      : empty("No pending requests. People ask to join through a join link that needs approval, or from a domain you verified."));
  }
  return { root: section("Requests", list), draw };
}

// A role's label from [value, label] pairs (a role no longer offered: its key).
const roleLabels = (roles) => (value) => (roles.find(([v]) => v === value) || [value, cap(value)])[1];

const JOIN_ERRORS = {
  join_link_not_found: "This join link is not valid. Ask for a new one.",
  join_link_unavailable: "This join link no longer works: it was revoked, has expired or has been used up. Ask for a new one.",
  join_link_domain_mismatch: "This join link is for addresses on other domains.",
  already_member: "You are already a member of this organization.",
  email_not_verified: "Verify your email address first, then open this link again.",
};
const explain = (e) => JOIN_ERRORS[e.code] || e.message;
const ELIGIBILITY = {
  already_member: "You are already a member of this organization.",
  email_not_verified: "Verify your email address first, then open this link again.",
  domain_not_allowed: "Your email address is not on a domain this link is for.",
  request_pending: "You asked to join already. Its admins have not answered yet.",
};

// /join#token=…
export async function join(_, ctx) {
  const opened = await openLink(ctx, {
    title: "Join an organization",
    preview: (token) => api("POST", "/v1/join-links/preview", { token }, { auth: session.signedIn() }),
    explain,
  });
  if (opened.screen) return opened.screen;
  const { token, lead, status, preview } = opened;
  const org = preview.org;
  const domains = preview.allowed_domains.length ? ` Addresses on ${preview.allowed_domains.join(", ")} only.` : "";
  const approval = preview.approval ? " An admin approves each request." : "";
  lead.textContent = `You're invited to join ${org.name} as ${preview.role}.${domains}${approval}`;
  const body = h("div", { id: "join-actions" });

  const joinNow = async () => {
    let answer;
    try {
      answer = await api("POST", "/v1/join-links/accept", { token });
    } catch (e) {
      throw new Error(explain(e));
    }
    if (answer.status === "pending") {
      body.replaceChildren(h("p", { id: "request-sent" }, `Your request to join ${org.name} was sent to its admins. You will get an email with their answer.`));
      return;
    }
    await loadNav().catch(() => {});
    await navigate(`/orgs/${answer.org.id}/team`, { replace: true });
    toast(`You joined ${answer.org.name} as ${answer.role}.`);
  };

  if (session.signedIn()) {
    if (preview.eligibility === "eligible") {
      const label = preview.approval ? `Ask to join ${org.name}` : `Join ${org.name}`;
      body.append(h("div", { class: "actions" }, action(label, joinNow, { id: "join", class: "primary" })));
    } else {
      const member = preview.eligibility === "already_member" && state.orgs.find((o) => o.slug === org.slug);
      body.append(h("p", {}, ELIGIBILITY[preview.eligibility] || "You cannot join through this link."),
        member ? h("a", { href: `/orgs/${member.id}/team`, class: "button" }, `Open ${org.name}`) : "");
    }
    return screen("Join an organization", lead, status, body);
  }

  const signup = form({
    id: "signup",
    labelledBy: "signup-title",
    fields: [
      { name: "email", label: "Email", type: "email", autocomplete: "email", required: true },
      { name: "name", label: "Name", autocomplete: "name", required: true, maxlength: 100 },
      { name: "password", label: "Choose a password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true, hint: "At least 8 characters. Common passwords are refused." },
    ],
    submit: "Sign up and join",
    onSubmit: async (v) => {
      await api("POST", "/v1/auth/signup", { email: v.email, password: v.password, name: v.name, join_token: token }, { auth: false });
      body.replaceChildren(h("p", { id: "check-email" },
        `Check ${v.email}: open the link we sent to verify your address. ${preview.approval
          ? `Your request to join ${org.name} goes to its admins as soon as it is verified.`
          : `You join ${org.name} as soon as it is verified.`}`));
    },
  });
  const signin = signInBox({
    labelledBy: "signin-title",
    returnTo: "/join",
    onLeave: keepForOAuth(token),
    done: async () => {
      try {
        await joinNow();
      } catch (e) {
        status.textContent = e.message;
      }
    },
  });
  body.append(h("h2", { id: "signup-title" }, "Create your account"), signup,
    h("h2", { id: "signin-title" }, "Sign in instead"), signin);
  return screen("Join an organization", lead, status, body);
}

function cap(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
