// Organization Settings → Install links (create, copy, revoke) and Managed
// workspaces (those customers granted this org; relinquish).
import { api, all, enc } from "../api.js";
import { can, loadNav } from "../state.js";
import { h, screen, section, form, toast, dangerAction, table, empty, when, copyButton, badge } from "../ui.js";

export async function installLinks({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  const admin = can(org, "workspaces:write");
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}">} */
  const base = `/v1/orgs/${enc(id)}`;
  const links = h("div");
  const managed = h("div");
  const reveal = h("div");

  async function drawLinks() {
    const list = await all(`${base}/install-links`);
    links.replaceChildren(list.length
      ? table("Install links", ["Created", "Expires", "Status", "Actions"], list.map((l) => [
          when(l.created_at), when(l.expires_at),
          badge(l.status === "active" ? "Active" : l.status === "revoked" ? "Revoked" : "Expired", l.status === "active" ? "ok" : ""),
          l.status === "active"
            ? dangerAction("Revoke", { title: "Revoke this install link?", body: "Customers who open it are told it no longer works. Access already granted stays.", confirm: "Revoke" }, async () => {
                await api("DELETE", `${base}/install-links/${enc(l.id)}`);
                toast("Install link revoked");
                await drawLinks();
              })
            : "",
        ]))
      : empty("No install links yet. Create one and send it to a customer: they pick a workspace and approve your access."));
  }

  async function drawManaged() {
    const list = await all(`${base}/managed-workspaces`);
    managed.replaceChildren(list.length
      ? table("Managed workspaces", ["Workspace", "Plan", "Granted", "Actions"], list.map((m) => [
          h("a", { href: `/workspaces/${m.workspace.id}` }, m.workspace.name), m.workspace.plan, when(m.granted_at),
          admin
            ? dangerAction("Relinquish", { title: `Give back access to ${m.workspace.name}?`, body: "Your members lose admin access to it. The customer can grant it again.", confirm: "Relinquish" }, async () => {
                await api("DELETE", `${base}/managed-workspaces/${enc(m.workspace.id)}`);
                toast(`Access to ${m.workspace.name} given back`);
                await loadNav();
                await drawManaged();
              })
            : "",
        ]))
      : empty(`No customer has shared a workspace with ${org.name} yet. Send them an install link, or give them your slug “${org.slug}”.`));
  }

  const parts = [];
  if (admin) {
    await drawLinks();
    parts.push(section("Install links",
      h("p", {}, "A link a customer opens to grant this organization admin access to one of their workspaces. It works for many customers until it expires or you revoke it."),
      reveal,
      form({
        id: "create-install-link",
        fields: [{ name: "expires", label: "Works for", type: "select", value: "604800", options: [["86400", "1 day"], ["604800", "7 days"], ["2592000", "30 days"]] }],
        submit: "Create install link",
        onSubmit: async (v) => {
          const made = await api("POST", `${base}/install-links`, { expires_in_seconds: Number(v.expires) });
          reveal.replaceChildren(h("div", { class: "card reveal" },
            h("p", {}, "Send this link to your customer. It is shown only now."),
            h("div", { class: "secret-row" }, h("code", { id: "install-url" }, made.url), copyButton(made.url, "Copy link"))));
          await drawLinks();
        },
      }),
      links));
  }
  await drawManaged();
  parts.push(section("Managed workspaces", managed));
  return screen("Install links", h("p", { class: "lead" }, `How customers share workspaces with ${org.name}`), ...parts);
}
