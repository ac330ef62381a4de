// Create organization, and Organization Settings → General: name and slug,
// "require 2FA" (with who does not have it yet), ownership transfer, delete.
import { api, all, enc } from "../api.js";
import { state, loadNav, can } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, section, form, toast, confirm, busy, empty } from "../ui.js";
import { suggestions } from "./domains.js";

export async function createOrg() {
  return screen("Create organization",
    await suggestions(),
    h("p", {}, "An organization holds your team, its API keys and the workspaces customers share with you."),
    form({
      id: "create-org",
      fields: [
        { name: "name", label: "Name", required: true, maxlength: 100, autocomplete: "organization" },
        { name: "slug", label: "Slug (optional)", hint: "3-40 of a-z, 0-9 and single hyphens; customers grant access by it. Left empty, one is made from the name." },
      ],
      submit: "Create organization",
      onSubmit: async (v) => {
        const body = { name: v.name };
        if (v.slug.trim()) body.slug = v.slug.trim();
        const org = await api("POST", "/v1/orgs", body);
        await loadNav();
        toast(`${org.name} created`);
        navigate(`/orgs/${org.id}/team`);
      },
    }));
}

export async function general({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  const parts = [];
  if (can(org, "org:write")) {
    parts.push(section("Name and slug", form({
      id: "org-general",
      fields: [
        { name: "name", label: "Name", value: org.name, required: true, maxlength: 100 },
        { name: "slug", label: "Slug", value: org.slug, required: true, hint: "Customers grant your organization access to a workspace by this slug." },
      ],
      submit: "Save",
      onSubmit: async (v) => {
        await api("PATCH", `/v1/orgs/${enc(id)}`, { name: v.name, slug: v.slug });
        await loadNav();
        toast("Saved");
      },
    })));
  } else {
    parts.push(section("Organization", h("p", {}, `${org.name} (${org.slug}). You are a ${org.role}: admins and owners change these settings.`)));
  }

  const members = await all(`/v1/orgs/${enc(id)}/members`);
  const without = members.filter((m) => !m.totp_enabled);
  const twoFa = h("div");
  const rule = org.require_2fa_for || "off";
  const ruleText = {
    off: "Members may use this organization without two-factor authentication.",
    admins_and_owners: "Admins and owners must have two-factor authentication on to use this organization; members may go without.",
    all: "Members must have two-factor authentication on to use this organization.",
  };
  twoFa.append(h("p", { id: "two-factor-rule-now" }, ruleText[rule] || ruleText.all));
  twoFa.append(without.length
    ? h("div", {}, h("h3", {}, "Members without two-factor authentication"), h("ul", { id: "without-2fa" }, without.map((m) => h("li", {}, `${m.name} (${m.email})`))))
    : h("p", {}, "Every member has two-factor authentication on."));
  if (can(org, "org:delete")) {
    // The Worker decides whom each rule binds; the console only says so.
    const strictness = { off: 0, admins_and_owners: 1, all: 2 };
    twoFa.append(form({
      id: "two-factor-rule",
      fields: [{
        name: "rule", label: "Who must use two-factor authentication", type: "select", value: rule,
        options: [["off", "Off"], ["admins_and_owners", "Admins and owners"], ["all", "Everyone"]],
      }],
      submit: "Save 2FA rule",
      onSubmit: async (v) => {
        if (v.rule === rule) return;
        const stricter = strictness[v.rule] > strictness[rule];
        const body = v.rule === "all"
          ? `${without.length} member(s) without two-factor authentication will be refused until they turn it on.`
          : "Admins and owners without two-factor authentication will be refused until they turn it on; members keep their access.";
        if (stricter && without.length && !(await confirm({ title: "Require 2FA?", body, confirm: "Require 2FA" }))) return;
        try {
          await api("PATCH", `/v1/orgs/${enc(id)}`, { require_2fa: v.rule });
          toast(v.rule === "off" ? "2FA is no longer required" : v.rule === "all" ? "2FA is now required of everyone" : "2FA is now required of admins and owners");
          navigate(location.pathname, { replace: true });
        } catch (e) {
          if (e.code === "two_factor_required") toast("Turn on two-factor authentication for yourself first (Account Settings → Security).", "error");
          else throw e;
        }
      },
    }));
  }
  parts.push(section("Require two-factor authentication", twoFa));

  if (can(org, "org:delete")) {
    const others = members.filter((m) => m.user_id !== state.me?.id);
    parts.push(section("Transfer ownership", others.length
      ? form({
          id: "transfer",
          fields: [{ name: "user_id", label: "New owner", type: "select", options: others.map((m) => [m.user_id, `${m.name} (${m.email})`]) }],
          submit: "Transfer ownership",
          danger: true,
          onSubmit: async (v) => {
            const who = others.find((m) => m.user_id === v.user_id);
            if (!(await confirm({ title: "Transfer ownership?", body: `${who.name} becomes an owner and you become an admin.`, confirm: "Transfer ownership" }))) return;
            await api("POST", `/v1/orgs/${enc(id)}/ownership-transfer`, { user_id: v.user_id });
            await loadNav();
            toast("Ownership transferred");
            navigate(location.pathname, { replace: true });
          },
        })
      : empty("Invite a teammate first: ownership goes to a member.", h("a", { href: `/orgs/${id}/team` }, "Go to Team"))));
    const del = h("button", { type: "button", class: "danger", id: "delete-org" }, "Delete organization");
    del.addEventListener("click", async () => {
      if (!(await confirm({ title: `Delete ${org.name}?`, body: "Members lose access, API keys stop working and shared workspaces are released. This cannot be undone.", confirm: "Delete organization", typed: org.slug }))) return;
      await busy(del, async () => {
        await api("DELETE", `/v1/orgs/${enc(id)}`);
        await loadNav();
        toast(`${org.name} deleted`);
        navigate("/", { replace: true });
      }).catch((e) => toast(e.message, "error"));
    });
    parts.push(section("Delete organization", h("p", {}, "Deleting is permanent."), del));
  }
  return screen("Organization Settings", h("p", { class: "lead" }, `General settings of ${org.name}`), ...parts);
}


