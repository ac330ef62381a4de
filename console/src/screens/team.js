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
export async function membersPanel({ base, view, kind, name, manage = true }) {
  const root = h("div", { class: "members" });
  const me = state.me?.id;
  const isAdmin = manage && can(view, "members:write");
  const invites = manage && can(view, "invitations:write");
  const joinLinks = invites && kind === "org" ? joinLinksSection(base, view.join_link_roles || []) : null;
  const requests = joinLinks ? requestsSection(base, view.join_link_roles || [], () => draw()) : null;
  if (joinLinks) await Promise.all([joinLinks.draw(), requests.draw()]);

  async function draw() {
    const [members, invitations] = await Promise.all([
      all(`${base}/members`),
      invites ? all(`${base}/invitations?status=pending`) : Promise.resolve([]),
    ]);
    const rows = members.map((m) => [
      h("span", {}, m.name, m.user_id === me ? " (you)" : ""),
      m.email,
      roleControl(m),
      kind === "org" ? (m.totp_enabled ? badge("On", "ok") : badge("Off", "warn")) : null,
      memberActions(m),
    ].filter((c, i) => (kind === "org" || i !== 3) && (manage || i !== 4)));
    const heads = ["Name", "Email", "Role", kind === "org" && "2FA", manage && "Actions"].filter(Boolean);
    const parts = [section("Members", table("Members", heads, rows))];
    if (invites) {
      // Lowest first, as before: the Worker lists them highest first.
      const roles = [...(view.invitable_roles || [])].reverse();
      parts.push(section("Invite Member", form({
        id: "invite-member",
        fields: [
          { name: "email", label: "Email", type: "email", required: true, autocomplete: "off" },
          { name: "role", label: "Role", type: "select", value: "member", options: roles.map((r) => [r, cap(r)]) },
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

function delivery(d) {
  if (d === "failed") return badge("Delivery failed: resend", "danger");
  if (d === "sent") return badge("Sent", "ok");
  return badge("Sending…");
}

export function cap(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}


