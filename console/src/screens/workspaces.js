// Workspaces: create one; a workspace's settings: name, members (direct
// roles, through the shared members panel), Access (grant an org by slug,
// see and revoke grants, approve an install link), billing and deletion for
// the owner only. A grant admin sees what they may do and nothing more.
import { api, all, enc } from "../api.js";
import { loadNav, can } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, section, form, toast, dangerAction, table, empty, when, confirm, busy } from "../ui.js";
import { membersPanel } from "./team.js";

export function createWorkspace() {
  return screen("New workspace",
    h("p", {}, "A workspace is yours: you keep billing and deletion, and can let an organization (a vendor, an agency) manage it."),
    form({
      id: "create-workspace",
      fields: [{ name: "name", label: "Name", required: true, maxlength: 100 }],
      submit: "Create workspace",
      onSubmit: async (v) => {
        const ws = await api("POST", "/v1/workspaces", { name: v.name });
        await loadNav();
        toast(`${ws.name} created`);
        navigate(`/workspaces/${ws.id}`);
      },
    }));
}

export async function workspace({ ws: id }) {
  /** @type {import("../api.js").Path<"/v1/workspaces/{ws_id}">} */
  const base = `/v1/workspaces/${enc(id)}`;
  const ws = await api("GET", base);
  // The owner's prerogatives (billing, deletion, granting and revoking
  // access, the activity log) and an admin's renaming, as the view lists them.
  const owner = can(ws, "org:delete");
  const admin = can(ws, "workspaces:write");
  const parts = [];
  const about = [h("p", {}, `Plan: ${ws.plan}. Your role: ${ws.role}.`)];
  if (ws.via_org) about.push(h("p", { id: "via-org" }, `Shared with you through ${ws.via_org.name}: the owner keeps billing and deletion, and can revoke this access.`));
  parts.push(section("Overview", ...about));
  if (admin) {
    parts.push(section("Name", form({
      id: "ws-name",
      fields: [{ name: "name", label: "Name", value: ws.name, required: true, maxlength: 100 }],
      submit: "Save",
      onSubmit: async (v) => {
        await api("PATCH", base, { name: v.name });
        await loadNav();
        toast("Saved");
      },
    })));
  }
  parts.push(await membersPanel({ base, view: ws, kind: "workspace", name: ws.name, manage: !ws.via_org }));
  if (admin) parts.push(await access(base, ws, owner));
  if (owner) {
    parts.push(section("Billing", form({
      id: "billing",
      fields: [
        { name: "plan", label: "Plan", type: "select", value: ws.plan, options: [["free", "Free"], ["pro", "Pro"], ["enterprise", "Enterprise"]] },
        { name: "billing_email", label: "Billing email", type: "email", value: ws.billing_email || "", required: true, autocomplete: "email" },
      ],
      submit: "Save billing",
      onSubmit: async (v) => {
        await api("PUT", `${base}/billing`, v);
        toast("Billing saved");
      },
    })));
    const del = h("button", { type: "button", class: "danger" }, "Delete workspace");
    del.addEventListener("click", async () => {
      if (!(await confirm({ title: `Delete ${ws.name}?`, body: "Its members and every organization with access lose it. This cannot be undone.", confirm: "Delete workspace", typed: ws.name }))) return;
      await busy(del, async () => {
        await api("DELETE", base);
        await loadNav();
        toast(`${ws.name} deleted`);
        navigate("/", { replace: true });
      }).catch((e) => toast(e.message, "error"));
    });
    parts.push(await activity(base));
    parts.push(section("Delete workspace", h("p", {}, "Only you, the owner, can delete it."), del));
  }
  return screen(ws.name, ...parts);
}

// Access: organizations this workspace is granted to.
/** @param {import("../api.js").Path<"/v1/workspaces/{ws_id}">} base */
async function access(base, ws, owner) {
  const box = h("div");
  async function draw() {
    const grants = await all(`${base}/grants`);
    box.replaceChildren(grants.length
      ? table("Organizations with access", ["Organization", "Slug", "Role", "Granted", "Actions"], grants.map((g) => [
          g.org.name, h("code", {}, g.org.slug), g.role, when(g.granted_at),
          owner
            ? dangerAction("Revoke", { title: `Revoke ${g.org.name}'s access?`, body: `Every member of ${g.org.name} loses access to ${ws.name} on their next request.`, confirm: "Revoke" }, async () => {
                await api("DELETE", `${base}/grants/${enc(g.org.id)}`);
                toast(`${g.org.name} no longer has access`);
                await draw();
              }, { "aria-label": `Revoke ${g.org.name}'s access` })
            : "",
        ]))
      : empty(owner ? "No organization has access. Grant one below by its slug, or approve an install link it sent you." : "No organization has access."));
  }
  await draw();
  const parts = [h("p", {}, owner
    ? "Organizations with access act as admins here. You keep billing and deletion, and can revoke their access at any time."
    : "Organizations with access act as admins here. The owner keeps billing and deletion."), box];
  if (owner) {
    parts.push(h("h3", {}, "Grant an organization access"), form({
      id: "grant",
      fields: [{ name: "org_slug", label: "Organization slug", required: true, autocomplete: "off", hint: "Ask the organization for its slug (shown in its Organization Settings)." }],
      submit: "Grant access",
      onSubmit: async (v, f) => {
        try {
          await api("POST", `${base}/grants`, { org_slug: v.org_slug.trim() });
        } catch (e) {
          if (e.status === 404) return f.fieldError("org_slug", "No organization has this slug.");
          if (e.code === "grant_exists") return f.fieldError("org_slug", "This organization already has access.");
          throw e;
        }
        toast("Access granted");
        f.reset();
        await draw();
      },
    }));
    parts.push(h("h3", {}, "Approve an install link"), form({
      id: "approve-link",
      fields: [{ name: "link", label: "Install link", required: true, autocomplete: "off", hint: "The link an organization sent you (…/install#token=…)." }],
      submit: "Approve access",
      onSubmit: async (v, f) => {
        const token = new URLSearchParams(v.link.split("#")[1] || "").get("token");
        if (!token) return f.fieldError("link", "This is not an install link: it should end with #token=….");
        try {
          await api("POST", "/v1/install-links/accept", { token, workspace_id: ws.id });
        } catch (e) {
          if (e.code === "install_link_unavailable") return f.fieldError("link", "This install link was revoked or has expired.");
          throw e;
        }
        toast("Access granted");
        f.reset();
        await draw();
      },
    }));
  }
  return section("Access", ...parts);
}

// The owner's view of who did what here: grants and member changes.
/** @param {import("../api.js").Path<"/v1/workspaces/{ws_id}">} base */
async function activity(base) {
  const page = await api("GET", `${base}/audit-log?limit=20`);
  return section("Activity", page.data.length
    ? table("Workspace activity", ["When", "Action", "Actor"], page.data.map((e) => [when(e.occurred_at), h("code", {}, e.action), `${e.actor.kind} ${e.actor.id || ""}`]))
    : empty("Nothing has happened here yet."));
}
