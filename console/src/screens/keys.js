// Organization Settings → API Keys: Create Key (description, expiry, scopes
// from a preset or picked one by one, never beyond my role), the key shown
// once with Copy and a curl example; the list with prefix, scopes, last use
// and expiry; Revoke; rotate with a grace period.
import { api, all, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, section, form, toast, dangerAction, table, empty, when, copyButton, busy, badge, confirm } from "../ui.js";

// The scopes offered are the creator's own permissions in the org, as the
// Worker lists them in the org view; it refuses a scope beyond the creator's
// role itself (403 scope_exceeds_role). The "Member" preset is a set of
// scopes to pick, not a rule.
const MEMBER = ["org:read", "members:read", "workspaces:read", "projects:read", "apps:read", "apps:deploy", "databases:read"];
const PRESETS = [
  ["read", "Read only", (mine) => mine.filter((p) => p.endsWith(":read"))],
  ["member", "Member (read, deploy apps)", (mine) => MEMBER.filter((p) => mine.includes(p))],
  ["role", "Everything my role allows", (mine) => mine],
  ["custom", "Custom (pick below)", null],
];

export async function apiKeys({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  if (!can(org, "api_keys:write")) {
    return screen("API Keys", empty("Only admins and owners manage API keys. Ask one of them for a key."));
  }
  const base = `/v1/orgs/${enc(id)}/api-keys`;
  const mine = org.permissions;
  const reveal = h("div", { id: "key-reveal" });
  const list = h("div");

  function showKey(created, title) {
    const curl = `curl -H "Authorization: Bearer ${created.key}" ${location.origin}/v1/api-keys/current`;
    reveal.replaceChildren(h("div", { class: "card reveal", role: "region", "aria-label": title },
      h("h2", {}, title),
      h("p", {}, "Copy it now: it is shown only once. Store it in your secret manager."),
      h("div", { class: "secret-row" }, h("code", { id: "new-key" }, created.key), copyButton(created.key, "Copy key")),
      h("p", {}, "Try it:"),
      h("pre", { id: "curl-example" }, curl), copyButton(curl, "Copy curl command"),
      h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => reveal.replaceChildren() }, "Done"))));
    reveal.querySelector("h2").setAttribute("tabindex", "-1");
    reveal.querySelector("h2").focus();
  }

  // The scope picker: a preset select drives the checkboxes.
  const boxes = mine.map((p) => {
    const cid = `scope-${p.replace(/[^a-z]/g, "-")}`;
    const input = h("input", { type: "checkbox", id: cid, value: p, name: "scope" });
    return { p, input, node: h("div", { class: "check" }, input, h("label", { for: cid }, h("code", {}, p))) };
  });
  const applyPreset = (key) => {
    const preset = PRESETS.find(([k]) => k === key);
    if (!preset || !preset[2]) return;
    const chosen = preset[2](mine);
    for (const b of boxes) b.input.checked = chosen.includes(b.p);
  };
  for (const b of boxes) b.input.addEventListener("change", () => {
    const sel = createForm.elements.preset;
    if (sel) sel.value = "custom";
  });
  const createForm = form({
    id: "create-key",
    fields: [
      { name: "name", label: "Description", required: true, maxlength: 100, hint: "What uses this key, e.g. “CI deploys”." },
      { name: "expires", label: "Expires", type: "select", value: "90", options: [["30", "In 30 days"], ["90", "In 90 days"], ["365", "In a year"], ["", "Never"]] },
      { name: "preset", label: "Scopes preset", type: "select", value: "read", options: PRESETS.map(([k, t]) => [k, t]) },
    ],
    extra: h("fieldset", { class: "scopes" }, h("legend", {}, "Scopes"), boxes.map((b) => b.node)),
    submit: "Create Key",
    onSubmit: async (v) => {
      const scopes = boxes.filter((b) => b.input.checked).map((b) => b.p);
      if (!scopes.length) throw new Error("Pick at least one scope.");
      const body = { name: v.name, scopes };
      if (v.expires) body.expires_in_days = Number(v.expires);
      const created = await api("POST", base, body);
      createForm.reset();
      applyPreset("read");
      showKey(created, `Your new key “${created.name}”`);
      await draw();
    },
  });
  createForm.elements.preset.addEventListener("change", (ev) => applyPreset(ev.target.value));
  applyPreset("read");

  async function draw() {
    const keys = await all(base);
    list.replaceChildren(section("Keys", keys.length
      ? table("API keys", ["Description", "Key", "Scopes", "Last used", "Expires", "Status", "Actions"], keys.map((k) => {
          const expired = k.expires_at && new Date(k.expires_at) <= new Date();
          const live = !k.revoked_at && !expired;
          return [
            k.name,
            h("code", {}, `${k.start}…`),
            h("span", { class: "scopes-list" }, k.scopes.join(", ")),
            k.last_used_at ? when(k.last_used_at) : "Never",
            k.expires_at ? when(k.expires_at) : "Never",
            k.revoked_at ? badge("Revoked") : expired ? badge("Expired") : badge("Active", "ok"),
            live
              ? h("div", { class: "row-actions" }, rotateControl(k),
                  dangerAction("Revoke", { title: `Revoke “${k.name}”?`, body: "Anything using this key is refused from its next request.", confirm: "Revoke" }, async () => {
                    await api("DELETE", `${base}/${enc(k.id)}`);
                    toast(`“${k.name}” revoked`);
                    await draw();
                  }, { "aria-label": `Revoke ${k.name}` }))
              : "",
          ];
        }))
      : empty("No API keys yet. Create Key above gives a program access to this organization.")));
  }

  function rotateControl(k) {
    const gid = `grace-${k.id}`;
    const graceSel = h("select", { id: gid }, [["0", "No grace period"], ["3600", "Old key works 1 hour"], ["86400", "Old key works 24 hours"]].map(([v, t]) => h("option", { value: v }, t)));
    const b = h("button", { type: "button", class: "secondary", "aria-label": `Rotate ${k.name}` }, "Rotate");
    b.addEventListener("click", async () => {
      const grace = Number(graceSel.value);
      const fate = grace ? `keeps working for ${grace >= 86400 ? "24 hours" : "1 hour"}` : "stops working at once";
      if (!(await confirm({ title: `Rotate “${k.name}”?`, body: `A new key with the same scopes is made; the old one ${fate}.`, confirm: "Rotate" }))) return;
      await busy(b, async () => {
        const created = await api("POST", `${base}/${enc(k.id)}/rotate`, { grace_period_seconds: grace });
        showKey(created, `The new key for “${k.name}”`);
        await draw();
      }).catch((e) => toast(e.message, "error"));
    });
    return h("span", { class: "rotate" }, h("label", { for: gid, class: "visually-hidden" }, `Grace period for rotating ${k.name}`), graceSel, b);
  }

  await draw();
  return screen("API Keys", h("p", { class: "lead" }, `Keys let programs act for ${org.name} with the scopes you choose.`),
    reveal, section("Create Key", createForm), list);
}
