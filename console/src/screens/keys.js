// Organization Settings → API Keys: Create Key (description, expiry within the
// org's key policy, scopes from a preset or picked one by one, never beyond my
// role), the key shown once with Copy and a curl example; the list with prefix,
// scopes, last use (when, network, client) and expiry badges (expires in N
// days, expired, non-compliant); Revoke; rotate with a grace period, offered
// up front for keys expiring soon; the Key policy form for those the org view
// says may set it (owners: `org:delete`).
import { api, all, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, section, form, toast, dangerAction, table, empty, when, copyButton, busy, badge, confirm } from "../ui.js";

// The scopes offered are the creator's own permissions in the org, as the
// Worker lists them in the org view; it refuses a scope beyond the creator's
// role itself (403 scope_exceeds_role). The "Member" preset is a set of
// scopes to pick, not a rule.
const MEMBER = ["org:read", "members:read", "workspaces:read", "projects:read", "apps:read", "apps:deploy", "databases:read"];
/** @type {[string, string, ((mine: string[]) => string[]) | null][]} */
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
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/api-keys">} */
  const base = `/v1/orgs/${enc(id)}/api-keys`;
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/api-key-policy">} */
  const policyPath = `/v1/orgs/${enc(id)}/api-key-policy`;
  let policy = await api("GET", policyPath);
  const mine = org.permissions;
  const prompts = h("div", { id: "rotate-prompts" });
  const policyCard = h("div");
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
      { name: "expires", label: "Expires", type: "select", value: "90", options: expiryOptions(), hint: policyHint() },
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

  // The lifetimes offered: those the policy admits (its longest among them),
  // and "Never" only where it allows keys without expiry.
  function expiryOptions() {
    const max = policy.max_lifetime_days;
    const opts = [[30, "In 30 days"], [90, "In 90 days"], [365, "In a year"]].filter(([d]) => !max || d <= max);
    if (max && !opts.some(([d]) => d === max)) opts.push([max, `In ${max} days (the policy's longest)`]);
    const out = opts.map(([d, t]) => [String(d), t]);
    if (!policy.require_expiry && !max) out.push(["", "Never"]);
    return out;
  }
  function policyHint() {
    const rules = [];
    if (policy.require_expiry) rules.push("every key must expire");
    if (policy.max_lifetime_days) rules.push(`keys live at most ${policy.max_lifetime_days} days`);
    return rules.length ? `The organization's key policy: ${rules.join(", ")}.` : null;
  }
  const DAY = 86400000;
  const daysLeft = (k) => Math.ceil((new Date(k.expires_at).getTime() - Date.now()) / DAY);
  // A key is "expiring soon" within the policy's first warning (14 days by default).
  const soon = (k) => k.expires_at && !k.revoked_at && daysLeft(k) > 0 && daysLeft(k) <= Math.max(...policy.warn_before_days);
  function status(k) {
    const expired = k.expires_at && new Date(k.expires_at) <= new Date();
    if (k.revoked_at) return [badge("Revoked")];
    if (expired) return [badge("Expired", "danger")];
    const out = [];
    if (soon(k)) {
      const n = daysLeft(k);
      out.push(badge(n === 1 ? "Expires in 1 day" : `Expires in ${n} days`, "warn"));
    } else {
      out.push(badge("Active", "ok"));
    }
    if (k.non_compliant) out.push(" ", h("span", { class: "badge danger", title: k.non_compliant_reason || "" }, "Non-compliant"));
    return out;
  }
  function lastUse(k) {
    if (!k.last_used_at) return "Never";
    const from = [k.last_used_network, k.last_used_agent].filter(Boolean).join(" · ");
    return h("span", {}, when(k.last_used_at), from ? h("br") : "", from ? h("small", { class: "muted" }, from) : "");
  }

  async function draw() {
    const keys = await all(base);
    const due = keys.filter((k) => soon(k) || (k.non_compliant && !k.revoked_at));
    prompts.replaceChildren(...due.map((k) => h("div", { class: "card notice", role: "status" },
      h("p", {}, k.non_compliant && !soon(k)
        ? `“${k.name}” breaks the organization's key policy: ${k.non_compliant_reason}. Rotate it to get a key within the policy.`
        : `“${k.name}” expires in ${daysLeft(k) === 1 ? "1 day" : `${daysLeft(k)} days`}. Rotate it and put the new key where this one is used.`),
      rotateControl(k))));
    list.replaceChildren(section("Keys", keys.length
      ? table("API keys", ["Description", "Key", "Scopes", "Last used", "Expires", "Status", "Actions"], keys.map((k) => {
          const expired = k.expires_at && new Date(k.expires_at) <= new Date();
          const live = !k.revoked_at && !expired;
          return [
            k.name,
            h("code", {}, `${k.start}…`),
            h("span", { class: "scopes-list" }, k.scopes.join(", ")),
            lastUse(k),
            k.expires_at ? when(k.expires_at) : "Never",
            h("span", {}, ...status(k)),
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
    const gid = `grace-${k.id}-${Math.random().toString(36).slice(2, 8)}`;
    const graceSel = h("select", { id: gid }, [["0", "No grace period"], ["3600", "Old key works 1 hour"], ["86400", "Old key works 24 hours"]].map(([v, t]) => h("option", { value: v }, t)));
    const b = h("button", { type: "button", class: "secondary", "aria-label": `Rotate ${k.name}` }, "Rotate");
    b.addEventListener("click", async () => {
      const grace = Number(graceSel.value);
      const fate = grace ? `keeps working for ${grace >= 86400 ? "24 hours" : "1 hour"}` : "stops working at once";
      // The new key lives a fresh lifetime (90 days, or the policy's longest
      // if shorter); a key without expiry stays so where the policy allows.
      const max = policy.max_lifetime_days;
      const days = k.expires_at || policy.require_expiry || max ? Math.min(90, max || 90) : null;
      const life = days ? ` It expires in ${days} days.` : "";
      if (!(await confirm({ title: `Rotate “${k.name}”?`, body: `A new key with the same scopes is made; the old one ${fate}.${life}`, confirm: "Rotate" }))) return;
      await busy(b, async () => {
        const body = { grace_period_seconds: grace };
        if (days) body.expires_in_days = days;
        const created = await api("POST", `${base}/${enc(k.id)}/rotate`, body);
        showKey(created, `The new key for “${k.name}”`);
        await draw();
      }).catch((e) => toast(e.message, "error"));
    });
    return h("span", { class: "rotate" }, h("label", { for: gid, class: "visually-hidden" }, `Grace period for rotating ${k.name}`), graceSel, b);
  }

  // The key policy: shown to everyone here, set by those the org view allows.
  function drawPolicy() {
    const rules = [
      policy.max_lifetime_days ? `Keys live at most ${policy.max_lifetime_days} days.` : "No limit on a key's lifetime.",
      policy.require_expiry ? "Every key must expire." : "Keys may be created without expiry.",
      `People are emailed ${policy.warn_before_days.join(" and ")} days before a key expires.`,
    ];
    const body = [h("ul", { id: "key-policy-summary" }, rules.map((r) => h("li", {}, r)))];
    if (can(org, "org:delete")) {
      const policyForm = form({
        id: "key-policy",
        fields: [
          { name: "max_lifetime_days", label: "Longest lifetime (days)", type: "number", min: 1, max: 3650, value: policy.max_lifetime_days, hint: "1 to 3650; empty for no limit. Binds new and rotated keys; existing keys beyond it are flagged, not revoked." },
          { name: "require_expiry", label: "Every key must expire", type: "checkbox", checked: policy.require_expiry },
          { name: "warn_before_days", label: "Warn before expiry (days)", value: policy.warn_before_days.join(", "), hint: "1 to 5 numbers from 1 to 365, e.g. “14, 3”. The key's creator and the owners and admins are emailed." },
        ],
        submit: "Save policy",
        onSubmit: async (v) => {
          const warn = v.warn_before_days.split(/[\s,]+/).filter(Boolean).map(Number);
          policy = await api("PUT", policyPath, {
            max_lifetime_days: v.max_lifetime_days ? Number(v.max_lifetime_days) : null,
            require_expiry: v.require_expiry,
            warn_before_days: warn,
          });
          toast("Key policy saved");
          const sel = createForm.elements.expires;
          sel.replaceChildren(...expiryOptions().map(([val, t]) => h("option", { value: val }, t)));
          drawPolicy();
          await draw();
        },
      });
      body.push(policyForm);
    }
    policyCard.replaceChildren(section("Key policy", ...body));
  }

  drawPolicy();
  await draw();
  return screen("API Keys", h("p", { class: "lead" }, `Keys let programs act for ${org.name} with the scopes you choose.`),
    prompts, reveal, section("Create Key", createForm), list, policyCard);
}
