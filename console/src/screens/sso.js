// Organization Settings → Single sign-on: the org's own OpenID or SAML
// provider signs in the addresses on its verified domains. Connect a
// provider (the redirect URI to register there, with a copy button; for
// SAML, our SP metadata URL and the IdP's metadata), turn a connection
// off and on, remove it, and require SSO for those addresses. SCIM
// provisioning: create a token for the directory (shown once, with the base
// URL), list and revoke tokens. Owners only: the org view's `permissions`
// say whether this person may.
import { api, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, section, form, toast, dangerAction, action, table, empty, copyButton, badge } from "../ui.js";

const ROLES = [["member", "Member"], ["admin", "Admin"]];

export async function sso({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/sso-connections">} */
  const base = `/v1/orgs/${enc(id)}/sso-connections`;
  if (!can(org, "org:delete")) {
    return screen("Single sign-on", section("Single sign-on",
      h("p", {}, `You are a ${org.role} of ${org.name}: its owners manage single sign-on.`)));
  }
  const list = h("div", { id: "sso-list" });
  const requirement = h("div", { id: "sso-required" });
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/domains">} */
  const domainsPath = `/v1/orgs/${enc(id)}/domains`;
  const { data: domains } = await api("GET", domainsPath);
  const verified = domains.filter((d) => d.state === "verified").map((d) => d.domain);
  // Built-in member and admin, then the org's custom roles.
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/roles">} */
  const rolesPath = `/v1/orgs/${enc(id)}/roles`;
  const { data: orgRoles } = await api("GET", rolesPath);
  const roleOptions = ROLES.concat(orgRoles.filter((r) => !r.builtin).map((r) => [r.key, r.name]));

  async function draw() {
    const { data, sso_required: required } = await api("GET", base);
    list.replaceChildren(data.length
      ? table("Connections", ["Name", "Provider", "Domains", "Joins as", "Status", "Redirect URI", "Actions"], data.map(row))
      : empty("No connections yet."));
    const box = h("input", { type: "checkbox", id: "require-sso", checked: required });
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        await api("PUT", `/v1/orgs/${enc(id)}/sso-required`, { sso_required: box.checked });
        toast(box.checked ? "Single sign-on is now required" : "Passwords and providers work again");
      } catch (e) {
        box.checked = !box.checked;
        toast(e.message || "Not saved");
      } finally {
        box.disabled = false;
      }
    });
    requirement.replaceChildren(h("div", { class: "field check" }, box,
      h("label", { for: "require-sso" }, "Require single sign-on for addresses on these domains"),
      h("p", { class: "hint" }, "Password and provider sign-ins of those addresses are refused. An owner with two-factor authentication keeps a way in.")));
  }

  function row(c) {
    /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/sso-connections/{id}">} */
    const one = `${base}/${enc(c.id)}`;
    const toggle = action(c.enabled ? "Turn off" : "Turn on", async () => {
      await api("PATCH", one, { enabled: !c.enabled });
      toast(`${c.name} turned ${c.enabled ? "off" : "on"}`);
      await draw();
    }, { class: "secondary", "aria-label": `${c.enabled ? "Turn off" : "Turn on"} ${c.name}` });
    const remove = dangerAction("Remove", { title: `Remove ${c.name}?`, body: "Nobody signs in through it any more. Sessions it opened run until they end; members stay members.", confirm: "Remove" }, async () => {
      await api("DELETE", one);
      toast(`${c.name} removed`);
      await draw();
    });
    return [
      h("strong", {}, c.name),
      h("code", {}, c.issuer),
      c.domains.join(", "),
      c.default_role,
      badge(c.enabled ? "On" : "Off", c.enabled ? "ok" : ""),
      c.saml
        ? h("span", {}, h("code", { class: "sp-metadata" }, c.saml.sp_metadata_url), " ", copyButton(c.saml.sp_metadata_url, "Copy SP metadata URL"))
        : h("span", {}, h("code", { class: "redirect-uri" }, c.redirect_uri), " ", copyButton(c.redirect_uri, "Copy redirect URI")),
      h("div", { class: "actions" }, toggle, remove),
    ];
  }

  // SCIM provisioning: the directory's tokens.
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/scim-tokens">} */
  const scimBase = `/v1/orgs/${enc(id)}/scim-tokens`;
  const scimList = h("div", { id: "scim-tokens" });
  const scimReveal = h("div", { id: "scim-reveal" });
  async function drawTokens() {
    const { data } = await api("GET", scimBase);
    scimList.replaceChildren(data.length
      ? table("SCIM tokens", ["Name", "Token", "Created", "Last used", "Actions"], data.map((t) => [
          h("strong", {}, t.name),
          h("code", {}, `${t.start}…`),
          t.created_at.slice(0, 10),
          t.last_used_at ? t.last_used_at.slice(0, 16).replace("T", " ") : "never",
          h("div", { class: "actions" }, dangerAction("Revoke", { title: `Revoke ${t.name}?`, body: "The directory's next request with it is refused. Members it provisioned stay.", confirm: "Revoke" }, async () => {
            /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/scim-tokens/{id}">} */
            const one = `${scimBase}/${enc(t.id)}`;
            await api("DELETE", one);
            toast(`${t.name} revoked`);
            await drawTokens();
          })),
        ]))
      : empty("No SCIM tokens yet."));
  }
  const scimForm = form({
    id: "add-scim-token",
    fields: [{ name: "name", label: "Directory", placeholder: "Okta", hint: "A label for the token, e.g. the directory it is for", maxlength: 100, autocomplete: "off" }],
    submit: "Create SCIM token",
    onSubmit: async (v, el) => {
      const t = await api("POST", scimBase, { name: v.name || undefined });
      el.reset();
      scimReveal.replaceChildren(h("div", { class: "card reveal", role: "region", "aria-label": "New SCIM token" },
        h("h2", {}, "New SCIM token"),
        h("p", {}, "Copy it now: it is shown only once. Give the directory both values."),
        h("p", {}, "Base URL"),
        h("div", { class: "secret-row" }, h("code", { id: "scim-base-url" }, t.base_url), copyButton(t.base_url, "Copy base URL")),
        h("p", {}, "Token"),
        h("div", { class: "secret-row" }, h("code", { id: "new-scim-token" }, t.token), copyButton(t.token, "Copy SCIM token")),
        h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => scimReveal.replaceChildren() }, "Done"))));
      await drawTokens();
    },
  });

  await draw();
  await drawTokens();
  const add = verified.length
    ? form({
        id: "add-sso",
        fields: [
          { name: "name", label: "Name", placeholder: "Acme Okta", maxlength: 100, autocomplete: "off" },
          { name: "issuer", label: "Issuer URL", required: true, placeholder: "https://acme.okta.com", autocomplete: "off",
            hint: "Exactly as the provider's ID tokens name it; its discovery document is read when you save." },
          { name: "client_id", label: "Client ID", required: true, autocomplete: "off" },
          { name: "client_secret", label: "Client secret", type: "password", required: true, autocomplete: "off",
            hint: "Stored encrypted; never shown again." },
          ...verified.map((d) => ({ name: `domain:${d}`, label: d, type: "checkbox", checked: verified.length === 1 })),
          { name: "default_role", label: "People join as", type: "select", options: roleOptions, value: "member" },
        ],
        submit: "Connect provider",
        onSubmit: async (v, el) => {
          const picked = verified.filter((d) => v[`domain:${d}`]);
          const c = await api("POST", base, {
            type: "oidc", name: v.name || undefined, issuer: v.issuer.trim(), client_id: v.client_id.trim(),
            client_secret: v.client_secret, domains: picked, default_role: v.default_role,
          });
          el.reset();
          toast(`${c.name} connected: register its redirect URI at the provider`);
          await draw();
        },
      })
    : h("p", {}, "Verify a domain first (Organization Settings → Domains): single sign-on acts only on an organization's verified domains.");
  const addSaml = verified.length
    ? form({
        id: "add-saml",
        fields: [
          { name: "metadata_url", label: "IdP metadata URL", placeholder: "https://idp.example.com/metadata", autocomplete: "off",
            hint: "Read when you save. Or paste the metadata below." },
          { name: "metadata_xml", label: "IdP metadata XML", type: "textarea", rows: 4 },
          ...verified.map((d) => ({ name: `domain:${d}`, label: d, type: "checkbox", checked: verified.length === 1 })),
          { name: "default_role", label: "People join as", type: "select", options: roleOptions, value: "member" },
        ],
        submit: "Connect SAML provider",
        onSubmit: async (v, el) => {
          const picked = verified.filter((d) => v[`domain:${d}`]);
          const url = v.metadata_url.trim();
          const c = await api("POST", base, {
            type: "saml", metadata_url: url || undefined, metadata_xml: url ? undefined : v.metadata_xml,
            domains: picked, default_role: v.default_role,
          });
          el.reset();
          toast(`${c.name} connected: give the IdP our SP metadata URL`);
          await draw();
        },
      })
    : null;
  return screen("Single sign-on",
    h("p", { class: "lead" }, `${org.name}'s identity provider signs in its people`),
    section("Connect an OpenID Connect provider",
      h("p", {}, "Create an OpenID Connect (web) application at your provider (Okta, Microsoft Entra ID, Google Workspace, Auth0…), then enter its issuer and credentials. Addresses on the domains you pick sign in through it, and join this organization on their first sign-in."),
      add),
    addSaml && section("Connect a SAML 2.0 provider",
      h("p", {}, "Give your IdP our SP metadata URL (shown once connected), or its entity ID and Assertion Consumer Service URL; then enter the IdP's metadata. Sign-in starts here (SP-initiated); assertions must be signed (RSA-SHA256 or ECDSA-P256)."),
      addSaml),
    section("Connections", list),
    section("Requirement", requirement),
    section("SCIM provisioning",
      h("p", {}, "Your directory (Okta, Microsoft Entra ID…) creates, changes and removes this organization's members on your verified domains over SCIM 2.0. A group named admin, member or one of your roles' keys gives its members that role. Members it manages are changed there, not here."),
      scimForm, scimReveal, scimList));
}
