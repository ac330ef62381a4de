// Trust policies: Organization Settings → Trust policies. Which CI jobs
// (GitHub Actions, GitLab CI) may trade their OIDC token for a short-lived
// API key: list, create, edit (a partial update), delete. Shown to those the
// org view allows to manage keys (its `permissions`); the Worker decides.
import { api, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, section, form, toast, dangerAction, table, empty } from "../ui.js";

const GITHUB = "https://token.actions.githubusercontent.com";
const ISSUERS = { [GITHUB]: "GitHub Actions", "https://gitlab.com": "GitLab" };
const TTLS = [["300", "5 minutes"], ["900", "15 minutes"], ["1800", "30 minutes"], ["3600", "1 hour"]];
const CONDITIONS_HINT = "One per line, claim=value, matched exactly. At least one id that cannot be re-registered: " +
  "repository_id or repository_owner_id (GitHub), project_id or namespace_id (GitLab). Optionally ref, environment, workflow_ref.";

// "repository_id=42\nref=refs/heads/main" → { repository_id: "42", ref: "refs/heads/main" }
function parseConditions(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const at = t.indexOf("=");
    if (at < 1) return null;
    out[t.slice(0, at).trim()] = t.slice(at + 1).trim();
  }
  return out;
}

const conditionsText = (c) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join("\n");
const ttlText = (s) => (TTLS.find(([v]) => Number(v) === s) || [null, `${s} seconds`])[1];

export async function trustPolicies({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  if (!can(org, "api_keys:write")) {
    return screen("Trust policies", empty("Only those who manage the organization's API keys manage its trust policies."));
  }
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/trust-policies">} */
  const base = `/v1/orgs/${enc(id)}/trust-policies`;
  const mine = org.permissions;
  const list = h("div");
  const editor = h("div", { id: "trust-policy-editor" });

  // Scope checkboxes (those the caller holds; the Worker refuses the rest).
  function scopePicker(prefix, chosen) {
    const boxes = mine.map((p) => {
      const cid = `${prefix}-${p.replace(/[^a-z]/g, "-")}`;
      const input = h("input", { type: "checkbox", id: cid, value: p, checked: chosen.includes(p) });
      return { p, input, node: h("div", { class: "check" }, input, h("label", { for: cid }, h("code", {}, p))) };
    });
    const node = h("fieldset", { class: "scopes" }, h("legend", {}, "Scopes of the keys it issues"), boxes.map((b) => b.node));
    return { node, picked: () => boxes.filter((b) => b.input.checked).map((b) => b.p) };
  }

  const createScopes = scopePicker("tp-scope", ["org:read"]);
  const createForm = form({
    id: "create-trust-policy",
    fields: [
      { name: "name", label: "Name", required: true, maxlength: 100, hint: "What it is for, e.g. “Deploy from main”." },
      { name: "issuer", label: "Issuer", required: true, value: GITHUB, hint: `${GITHUB} (GitHub Actions) or https://gitlab.com (GitLab).` },
      { name: "audience", label: "Audience", placeholder: `latchkey:${id}`, hint: "Optional. The token's exact aud; empty for the default shown." },
      { name: "conditions", label: "Conditions", type: "textarea", rows: 3, required: true, placeholder: "repository_id=123456789\nref=refs/heads/main", hint: CONDITIONS_HINT },
      { name: "max_ttl_seconds", label: "Longest key lifetime", type: "select", value: "900", options: TTLS },
    ],
    extra: createScopes.node,
    submit: "Create trust policy",
    onSubmit: async (v, f) => {
      const conditions = parseConditions(v.conditions);
      if (!conditions) {
        f.fieldError("conditions", "Write each condition as claim=value, one per line.");
        return;
      }
      const scopes = createScopes.picked();
      if (!scopes.length) throw new Error("Pick at least one scope.");
      /** @type {import("../api.js").Schemas["TrustPolicyBody"]} */
      const body = { name: v.name, issuer: v.issuer.trim(), conditions, scopes, max_ttl_seconds: Number(v.max_ttl_seconds) };
      if (v.audience.trim()) body.audience = v.audience.trim();
      const made = await api("POST", base, body);
      createForm.reset();
      toast(`Trust policy “${made.name}” created`);
      await draw();
    },
  });

  // Edit one policy: the fields changed are sent (fields left alone stay).
  function edit(p) {
    const scopes = scopePicker(`tp-edit-${p.id}`, p.scopes);
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => editor.replaceChildren() }, "Cancel");
    const editForm = form({
      id: "edit-trust-policy",
      fields: [
        { name: "name", label: "Name", required: true, maxlength: 100, value: p.name },
        { name: "audience", label: "Audience", value: p.audience, hint: "The token's exact aud; empty for the default." },
        { name: "conditions", label: "Conditions", type: "textarea", rows: 3, required: true, value: conditionsText(p.conditions), hint: CONDITIONS_HINT },
        { name: "max_ttl_seconds", label: "Longest key lifetime", type: "select", value: String(p.max_ttl_seconds), options: TTLS },
      ],
      extra: scopes.node,
      secondary: cancel,
      submit: "Save changes",
      onSubmit: async (v, f) => {
        const conditions = parseConditions(v.conditions);
        if (!conditions) {
          f.fieldError("conditions", "Write each condition as claim=value, one per line.");
          return;
        }
        const picked = scopes.picked();
        if (!picked.length) throw new Error("Pick at least one scope.");
        /** @type {import("../api.js").Schemas["TrustPolicyPatch"]} */
        const patch = {};
        if (v.name !== p.name) patch.name = v.name;
        if (v.audience.trim() !== p.audience) patch.audience = v.audience.trim() || null;
        if (conditionsText(conditions) !== conditionsText(p.conditions)) patch.conditions = conditions;
        if (picked.join(" ") !== p.scopes.join(" ")) patch.scopes = picked;
        if (Number(v.max_ttl_seconds) !== p.max_ttl_seconds) patch.max_ttl_seconds = Number(v.max_ttl_seconds);
        const saved = await api("PATCH", `${base}/${enc(p.id)}`, patch);
        editor.replaceChildren();
        toast(`Trust policy “${saved.name}” saved`);
        await draw();
      },
    });
    editor.replaceChildren(h("div", { class: "card", role: "region", "aria-label": `Edit ${p.name}` },
      h("h2", { tabindex: "-1" }, `Edit “${p.name}”`),
      h("p", { class: "hint" }, `Issuer: ${p.issuer} (fixed). Saving makes you the person whose role bounds its scopes.`),
      editForm));
    editor.querySelector("h2").focus();
  }

  async function draw() {
    const { data } = await api("GET", base);
    list.replaceChildren(section("Policies", data.length
      ? table("Trust policies", ["Name", "Issuer", "Conditions", "Scopes", "Key lifetime", "Actions"], data.map((p) => [
          p.name,
          h("span", {}, ISSUERS[p.issuer] || p.issuer, p.audience !== `latchkey:${id}` ? h("small", { class: "muted" }, h("br"), `aud ${p.audience}`) : ""),
          h("span", { class: "scopes-list" }, Object.entries(p.conditions).map(([k, v]) => `${k}=${v}`).join(", ")),
          h("span", { class: "scopes-list" }, p.scopes.join(", ")),
          ttlText(p.max_ttl_seconds),
          h("div", { class: "row-actions" },
            h("button", { type: "button", class: "secondary", "aria-label": `Edit ${p.name}`, onclick: () => edit(p) }, "Edit"),
            dangerAction("Delete", { title: `Delete “${p.name}”?`, body: "CI jobs can no longer exchange tokens under it. Keys it issued live out their short lives.", confirm: "Delete" }, async () => {
              await api("DELETE", `${base}/${enc(p.id)}`);
              editor.replaceChildren();
              toast(`Trust policy “${p.name}” deleted`);
              await draw();
            }, { "aria-label": `Delete ${p.name}` })),
        ]))
      : empty("No trust policies yet. Create one to let a CI job get a short-lived key without a stored secret.")));
  }

  await draw();
  return screen("Trust policies",
    h("p", { class: "lead" }, `CI jobs whose OIDC token meets a policy get a short-lived API key for ${org.name}: no secret to store. `,
      "In GitHub Actions, the action in ", h("code", {}, "action/"), " does the exchange; see ", h("a", { href: "/docs" }, "the API reference"), "."),
    editor, section("Create trust policy", createForm), list);
}
