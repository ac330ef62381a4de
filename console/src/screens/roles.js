// Organization Settings → Roles: the built-in roles (read-only) and the
// org's custom roles, each a set of permissions from the catalog
// (GET /v1/permissions) shown as checkboxes; create, edit, delete (a role
// in use answers role_in_use, shown as is). The Worker says who may define
// roles (`can_define`) and decides every request; this screen compares no
// roles.
import { api, enc } from "../api.js";
import { h, screen, section, form, toast, dangerAction, action, table, empty, badge } from "../ui.js";

export async function roles({ org: id }) {
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/roles">} */
  const base = `/v1/orgs/${enc(id)}/roles`;
  const [org, catalog] = await Promise.all([api("GET", `/v1/orgs/${enc(id)}`), api("GET", "/v1/permissions")]);
  // Only what a custom role may hold is offered.
  const offered = catalog.data.filter((p) => p.custom_roles);
  const list = h("div", { id: "role-list" });
  const editor = h("div", { id: "role-editor" });
  let canDefine = false;

  // The permission checkboxes, checked as `held` says.
  function checkboxes(held, prefix) {
    return h("fieldset", { class: "permissions" },
      h("legend", {}, "Permissions"),
      offered.map((p) => {
        const idFor = `${prefix}-${p.key.replace(":", "-")}`;
        return h("div", { class: "field check" },
          h("input", { type: "checkbox", id: idFor, name: "permission", value: p.key, checked: held.includes(p.key) }),
          h("label", { for: idFor }, h("code", {}, p.key), " ", p.description));
      }));
  }

  function chosen(root) {
    return [...root.querySelectorAll("input[name=permission]:checked")].map((c) => c.value);
  }

  async function draw() {
    const { data, can_define } = await api("GET", base);
    canDefine = can_define;
    const rows = data.map((r) => [
      h("span", { class: "role-key" }, h("code", {}, r.key)),
      h("span", {}, r.name, r.description ? h("span", { class: "hint" }, ` — ${r.description}`) : null),
      h("span", { class: "role-permissions" }, r.permissions.join(", ") || "none"),
      r.builtin ? badge("Built in") : badge("Custom", "ok"),
      canDefine && !r.builtin ? h("div", { class: "actions" },
        action("Edit", async () => edit(r), { "aria-label": `Edit ${r.key}` }),
        dangerAction("Delete", { title: `Delete the role ${r.key}?`, body: "Nobody may hold it or be invited with it.", confirm: "Delete" }, async () => {
          await api("DELETE", `${base}/${enc(r.key)}`);
          toast(`${r.key} deleted`);
          editor.replaceChildren();
          await draw();
        }, { "aria-label": `Delete ${r.key}` })) : "",
    ]);
    list.replaceChildren(table("Roles", ["Key", "Name", "Permissions", "Kind", "Actions"], rows));
  }

  function edit(r) {
    const boxes = checkboxes(r.permissions, `edit-${r.key}`);
    editor.replaceChildren(section(`Edit ${r.key}`, form({
      id: "edit-role",
      fields: [
        { name: "name", label: "Name", required: true, value: r.name, maxlength: 100 },
        { name: "description", label: "Description", type: "textarea", value: r.description },
      ],
      extra: boxes,
      submit: "Save role",
      onSubmit: async (v) => {
        await api("PATCH", `${base}/${enc(r.key)}`, { name: v.name, description: v.description, permissions: chosen(boxes) });
        toast(`${r.key} saved: its holders have the new permissions at once`);
        editor.replaceChildren();
        await draw();
      },
    })));
    editor.querySelector("input")?.focus();
  }

  await draw();
  const parts = [
    h("p", { class: "lead" }, `What people in ${org.name} may do`),
    section("Roles", list),
  ];
  if (canDefine) {
    const boxes = checkboxes([], "new");
    parts.push(editor, section("Create a role", form({
      id: "create-role",
      fields: [
        { name: "key", label: "Key", required: true, placeholder: "billing-viewer", maxlength: 40, autocomplete: "off",
          hint: "3-40 lowercase letters, digits and hyphens; it never changes" },
        { name: "name", label: "Name", required: true, placeholder: "Billing viewer", maxlength: 100 },
        { name: "description", label: "Description", type: "textarea" },
      ],
      extra: boxes,
      submit: "Create role",
      onSubmit: async (v, el) => {
        const made = await api("POST", base, { key: v.key, name: v.name, description: v.description, permissions: chosen(boxes) });
        el.reset();
        toast(`${made.key} created`);
        await draw();
      },
    })));
  } else {
    parts.push(empty("Owners and admins define the organization's roles."));
  }
  return screen("Roles", ...parts);
}
