// Platform administration (/admin), for the addresses in PLATFORM_ADMINS
// with 2FA on: find a person by address (their account, orgs and roles),
// suspend or restore the account, reset its 2FA; each with a fresh code of
// the administrator's, each in the platform audit log and emailed to the
// person. The Worker decides who may; this screen only asks.
import { api } from "../api.js";
import { h, screen, section, form, toast, table, empty, when, badge } from "../ui.js";

const ACTIONS = [
  ["suspend", "Suspend the account (its sessions and API keys stop at once)"],
  ["unsuspend", "Lift the suspension"],
  ["reset-2fa", "Reset two-factor authentication (ends every session)"],
];
const DONE = { suspend: "suspended", unsuspend: "restored", "reset-2fa": "2FA reset" };
const CODE = { name: "code", label: "Your current 6-digit code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", required: true, hint: "Every administrator action needs a fresh code from your authenticator app." };

export async function admin() {
  const found = h("div", { id: "admin-person" });
  const log = h("div");

  async function drawLog() {
    const { data } = await api("GET", "/v1/admin/audit-log");
    log.replaceChildren(data.length
      ? table("Platform audit log", ["When", "Administrator", "Action", "Person", "Details"], data.map((e) => [
          when(e.occurred_at), e.admin.email, e.action, e.user.email, e.data.reason || "",
        ]))
      : empty("No administrator action yet."));
  }

  function show(person) {
    const state = person.suspended_at ? badge("Suspended", "danger") : badge("Active", "ok");
    const twoFactor = person.totp_enabled ? badge("On", "ok") : person.two_factor_reset_at ? badge("Reset: enrolling again", "warn") : badge("Off", "warn");
    const act = form({
      id: "admin-act",
      fields: [
        { name: "action", label: "Action", type: "select", value: person.suspended_at ? "unsuspend" : "suspend", options: ACTIONS },
        { name: "reason", label: "Reason", maxlength: 500, hint: "Optional; kept in the platform audit log." },
        CODE,
      ],
      submit: "Apply",
      danger: true,
      onSubmit: async (v) => {
        const body = { code: v.code };
        if (v.reason) body.reason = v.reason;
        /** @type {`/v1/admin/users/${string}`} */
        const user = `/v1/admin/users/${encodeURIComponent(person.id)}`;
        const after = v.action === "suspend" ? await api("POST", `${user}/suspend`, body)
          : v.action === "unsuspend" ? await api("POST", `${user}/unsuspend`, body)
          : await api("POST", `${user}/reset-2fa`, body);
        toast(`${person.email}: ${DONE[v.action]}. They were emailed.`);
        show({ ...after, orgs: person.orgs });
        await drawLog();
      },
    });
    found.replaceChildren(section(person.email,
      h("dl", { class: "facts" },
        h("dt", {}, "Name"), h("dd", {}, person.name),
        h("dt", {}, "Account"), h("dd", {}, state),
        h("dt", {}, "Two-factor"), h("dd", {}, twoFactor),
        h("dt", {}, "Created"), h("dd", {}, when(person.created_at))),
      person.orgs.length
        ? table("Organizations and roles", ["Organization", "Slug", "Role", "Joined"], person.orgs.map((o) => [o.name, o.slug, o.role, when(o.joined_at)]))
        : h("p", {}, "Not a member of any organization."),
      act));
  }

  const lookup = form({
    id: "admin-lookup",
    fields: [{ name: "email", label: "Email", type: "email", required: true, autocomplete: "off" }, CODE],
    submit: "Find",
    onSubmit: async (v, f) => {
      try {
        show(await api("POST", "/v1/admin/users/lookup", { email: v.email, code: v.code }));
      } catch (e) {
        if (e.code === "not_found") {
          f.fieldError("email", "No account has this address.");
          return;
        }
        throw e;
      }
      await drawLog();
    },
  });
  try {
    await drawLog();
  } catch (e) {
    return screen("Platform administration", h("p", { class: "lead", id: "admin-refused" }, e.message));
  }
  return screen("Platform administration",
    h("p", { class: "lead" }, "Help people who are locked out: find them, restore or suspend their account, reset their two-factor authentication."),
    section("Find a person", lookup), found, section("Platform audit log", log));
}
