// Organization Settings → Team (and a workspace's Members: the same panel
// over the other tenant): members with role and 2FA status, change role,
// remove, leave; Invite Member; pending invitations with resend, revoke and
// a visible failed-delivery state; an org's join links (joinlinks.js).
import { api, all, enc } from "../api.js";
import { state, loadNav, can } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, section, form, toast, dangerAction, action, table, empty, badge, when } from "../ui.js";
import { joinLinksSection, requestsSection } from "./joinlinks.js";

export async function team({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  const panel = await membersPanel({ base: `/v1/orgs/${enc(id)}`, view: org, kind: "org", name: org.name });
  return screen("Team", h("p", { class: "lead" }, `Members of ${org.name}`), panel);
}

// The members, Invite Member and pending invitations of an org or workspace.
// `view` is the org or workspace as the Worker shows it to the signed-in
// person: its `permissions` and `invitable_roles`, and each member's
// `assignable_roles` and `removable`, decide which controls show (the
// Worker decides what is allowed).
// `manage: false` shows the list only (a workspace's grant admins: its
// direct seats stay the customer's).
/**
 * @param {{ base: import("../api.js").Path<"/v1/orgs/{org_id}"> | import("../api.js").Path<"/v1/workspaces/{ws_id}">,
 *   view: any, kind: "org" | "workspace", name: string, manage?: boolean }} panel
 */
export async function membersPanel({ base: tenantBase, view, kind, name, manage = true }) {
  // Checked as the org's routes: a workspace has the same member and
  // invitation routes (clients/typescript/src/routes.ts asserts they exist).
  const base = /** @type {import("../api.js").Path<"/v1/orgs/{org_id}">} */ (tenantBase);
  const root = h("div", { class: "members" });
  const me = state.me?.id;
  const isAdmin = manage && can(view, "members:write");
  const invites = manage && can(view, "invitations:write");
  // Lowest first, as before: the Worker lists them highest first; then an
  // org's custom roles the Worker says the caller may invite with. Join
  // links and approvals offer the same, but owner (`join_link_roles`).
  let inviteRoles = [...(view.invitable_roles || [])].reverse().map((r) => [r, cap(r)]);
  let linkRoles = [...(view.join_link_roles || [])].reverse().map((r) => [r, cap(r)]);
  if (invites && kind === "org") {
    const { data } = await api("GET", `${base}/roles`);
    const custom = data.filter((r) => !r.builtin && r.invitable).map((r) => [r.key, r.name]);
    inviteRoles = inviteRoles.concat(custom);
    linkRoles = linkRoles.concat(custom);
  }
  const joinLinks = invites && kind === "org" ? joinLinksSection(base, linkRoles) : null;
  const requests = joinLinks ? requestsSection(base, linkRoles, () => draw()) : null;
  if (joinLinks) await Promise.all([joinLinks.draw(), requests.draw()]);

  // An org's members can be narrowed to those inactive for a while (the
  // Worker knows when each was last active); kept across redraws.
  let inactive = "";
  const filter = kind === "org" ? inactiveFilter(() => draw()) : null;
  // The access review (CSV or JSON), for those the Worker allows it.
  const review = kind === "org" && can(view, "audit:read") && can(view, "api_keys:write") ? reviewSection(base, view.slug || "org") : null;

  async function draw() {
    if (filter) inactive = filter.value();
    const [members, invitations] = await Promise.all([
      all(`${base}/members${inactive ? `?inactive_for_days=${enc(inactive)}` : ""}`),
      invites ? all(`${base}/invitations?status=pending`) : Promise.resolve([]),
    ]);
    const org = kind === "org";
    const rows = members.map((m) => [
      h("span", {}, m.name, m.user_id === me ? " (you)" : ""),
      m.email,
      roleControl(m),
      org ? (m.totp_enabled ? badge("On", "ok") : badge("Off", "warn")) : undefined,
      org ? (m.last_active_on || "Never") : undefined,
      manage ? memberActions(m) : undefined,
    ].filter((c) => c !== undefined));
    const heads = ["Name", "Email", "Role", org && "2FA", org && "Last active", manage && "Actions"].filter(Boolean);
    const list = rows.length || !inactive
      ? table("Members", heads, rows)
      : empty(`Nobody has been inactive for more than ${inactive} days.`);
    const parts = [section("Members", filter ? filter.root : null, list)];
    if (review) parts.push(review);
    if (invites) {
      parts.push(section("Invite Member", form({
        id: "invite-member",
        fields: [
          { name: "email", label: "Email", type: "email", required: true, autocomplete: "off" },
          { name: "role", label: "Role", type: "select", value: "member", options: inviteRoles },
        ],
        submit: "Send Invite",
        onSubmit: async (v, f) => {
          try {
            await api("POST", `${base}/invitations`, { email: v.email, role: v.role });
          } catch (e) {
            if (e.code === "already_member") f.fieldError("email", "This person is already a member.");
            else if (e.code === "invitation_exists") f.fieldError("email", "An invitation to this address is pending: resend it below.");
            else throw e;
            return;
          }
          toast(`Invitation sent to ${v.email}`);
          await draw();
        },
      })));
      parts.push(section("Pending invitations", invitations.length
        ? table("Pending invitations", ["Email", "Role", "Expires", "Delivery", "Actions"], invitations.map((i) => [
            i.email, cap(i.role), when(i.expires_at), delivery(i.delivery),
            h("div", { class: "row-actions" },
              action("Resend", async () => {
                await api("POST", `${base}/invitations/${enc(i.id)}/resend`);
                toast(`A new link was sent to ${i.email}; the old one no longer works.`);
                await draw();
              }, { "aria-label": `Resend the invitation to ${i.email}` }),
              dangerAction("Revoke", { title: `Revoke the invitation to ${i.email}?`, body: "Its link stops working.", confirm: "Revoke" }, async () => {
                await api("DELETE", `${base}/invitations/${enc(i.id)}`);
                toast("Invitation revoked");
                await draw();
              }, { "aria-label": `Revoke the invitation to ${i.email}` })),
          ]))
        : empty("No pending invitations. Use Invite Member above to add a teammate.")));
    }
    if (joinLinks) parts.push(requests.root, joinLinks.root);
    root.replaceChildren(...parts);
  }

  function roleControl(m) {
    const options = isAdmin ? m.assignable_roles || [] : [];
    if (!options.length || m.user_id === me) return cap(m.role);
    const select = h("select", { "aria-label": `Role of ${m.name}`, class: "role" }, options.map((r) => h("option", { value: r, selected: r === m.role }, cap(r))));
    select.addEventListener("change", async () => {
      const to = select.value;
      select.disabled = true;
      try {
        await api("PATCH", `${base}/members/${enc(m.user_id)}`, { role: to });
        toast(`${m.name} is now ${to === "admin" ? "an" : "a"} ${to}`);
        await draw();
      } catch (e) {
        select.value = m.role;
        select.disabled = false;
        toast(e.code === "last_owner" ? `${name} must keep an owner.` : e.message, "error");
      }
    });
    return select;
  }

  function memberActions(m) {
    if (m.user_id === me && manage) {
      return dangerAction("Leave", { title: `Leave ${name}?`, body: "You lose access at once; an admin can invite you again.", confirm: "Leave" }, async () => {
        try {
          await api("DELETE", `${base}/members/me`);
        } catch (e) {
          if (e.code === "last_owner") throw new Error(`You are the last owner: make someone else an owner first, or delete ${name}.`);
          throw e;
        }
        await loadNav();
        toast(`You left ${name}`);
        navigate("/", { replace: true });
      }, { id: "leave" });
    }
    if (!isAdmin || !m.removable) return "";
    return dangerAction("Remove", { title: `Remove ${m.name}?`, body: `${m.email} loses access to ${name} at once.`, confirm: "Remove" }, async () => {
      await api("DELETE", `${base}/members/${enc(m.user_id)}`);
      toast(`${m.name} was removed`);
      await draw();
    }, { "aria-label": `Remove ${m.name}` });
  }

  await draw();
  return root;
}

// "Inactive for": everyone, or members last active more than 30/60/90 days ago.
function inactiveFilter(redraw) {
  const select = h("select", { id: "inactive-for", "aria-label": "Inactive for" },
    [["", "Everyone"], ["30", "30 days"], ["60", "60 days"], ["90", "90 days"]].map(([v, t]) => h("option", { value: v }, t)));
  select.addEventListener("change", () => redraw());
  const root = h("div", { class: "field inline" }, h("label", { for: "inactive-for" }, "Inactive for"), select);
  return { root, value: () => select.value };
}

// Export access review: every member (role, 2FA, last active) and every
// working API key (scopes, last use), as CSV or JSON. The export is audited.
/** @param {import("../api.js").Path<"/v1/orgs/{org_id}">} base */
function reviewSection(base, name) {
  const save = (text, type, ext) => {
    const a = h("a", { href: `data:${type};charset=utf-8,` + encodeURIComponent(text), download: `access-review-${name}.${ext}` });
    document.body.append(a);
    a.click();
    a.remove();
  };
  const csv = action("Export access review (CSV)", async () => {
    save(await api("GET", `${base}/access-review?format=csv`, undefined, { text: true }), "text/csv", "csv");
    toast("Access review downloaded (CSV)");
  }, { id: "export-review-csv" });
  const json = action("Export access review (JSON)", async () => {
    save(await api("GET", `${base}/access-review?format=json`, undefined, { text: true }), "application/json", "json");
    toast("Access review downloaded (JSON)");
  }, { id: "export-review-json" });
  return section("Access review",
    h("p", {}, "Who has access, their role, two-factor authentication and last activity, and the API keys that work now. Each export is recorded in the audit log."),
    h("div", { class: "row-actions" }, csv, json));
}

function delivery(d) {
  if (d === "failed") return badge("Delivery failed: resend", "danger");
  if (d === "sent") return badge("Sent", "ok");
  return badge("Sending…");
}

export function cap(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}


