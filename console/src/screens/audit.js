// Organization Settings → Audit log: newest first, a page at a time ("Load
// more" follows the cursor), filtered by actor and action. The API pages
// without filters, so the filters apply to the events loaded so far.
import { api, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, table, empty, when, busy } from "../ui.js";

export async function auditLog({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  if (!can(org, "audit:read")) return screen("Audit log", empty("Only admins and owners can read the audit log."));
  const events = [];
  let cursor = null;
  const actor = h("input", { id: "filter-actor", type: "search", autocomplete: "off" });
  const action = h("select", { id: "filter-action" }, h("option", { value: "" }, "All actions"));
  const body = h("div");
  const more = h("button", { type: "button", class: "secondary" }, "Load more");

  async function load() {
    const page = await api("GET", `/v1/orgs/${enc(id)}/audit-log?limit=50${cursor ? "&cursor=" + enc(cursor) : ""}`);
    events.push(...page.data);
    cursor = page.next_cursor;
    const known = new Set([...action.options].map((o) => o.value));
    for (const a of [...new Set(events.map((e) => e.action))].sort()) {
      if (!known.has(a)) action.append(h("option", { value: a }, a));
    }
    draw();
  }

  function actorText(e) {
    return `${e.actor.kind}${e.actor.id ? " " + e.actor.id : ""}`;
  }

  function draw() {
    const who = actor.value.trim().toLowerCase();
    const shown = events.filter((e) => (!action.value || e.action === action.value) && (!who || actorText(e).toLowerCase().includes(who)));
    body.replaceChildren(shown.length
      ? table("Audit events", ["When", "Action", "Actor", "Target", "Details"], shown.map((e) => [
          when(e.occurred_at), h("code", {}, e.action), actorText(e),
          e.target ? `${e.target.kind} ${e.target.id}` : "—",
          h("span", { class: "details" }, Object.entries(e.data || {}).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")),
        ]))
      : empty(events.length ? "No loaded event matches these filters." : "Nothing has happened yet: changes to members, invitations, keys, grants and settings appear here."));
    more.hidden = !cursor;
  }

  actor.addEventListener("input", draw);
  action.addEventListener("change", draw);
  more.addEventListener("click", () => busy(more, load));
  await load();
  return screen("Audit log",
    h("div", { class: "filters" },
      h("div", { class: "field" }, h("label", { for: "filter-actor" }, "Actor"), actor),
      h("div", { class: "field" }, h("label", { for: "filter-action" }, "Action"), action)),
    body, more);
}
