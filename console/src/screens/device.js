// /device: approving a sign-in that a CLI started (OAuth 2.0 device
// authorization grant, RFC 8628). Reached from the link the CLI prints
// (/device#user_code=BCDF-GHJK fills the code) or typed. Signed out, the
// code waits in this tab's sessionStorage while the person signs in, and
// the page comes back. It shows which client asks, from where and when,
// warns before the buttons, then Approve or Deny.
import { api, ApiError } from "../api.js";
import { session } from "../session.js";
import { navigate } from "../router.js";
import { h, screen, section, form, action, when, statusLine } from "../ui.js";

const PENDING = "latchkey.device_user_code";
const TITLE = "Sign in a device";

function keep(code) {
  try {
    if (code) sessionStorage.setItem(PENDING, code);
  } catch {
    // Storage off: the person types the code again after signing in.
  }
}

function takeKept() {
  try {
    const code = sessionStorage.getItem(PENDING);
    sessionStorage.removeItem(PENDING);
    return code;
  } catch {
    return null;
  }
}

const EXPLAIN = {
  invalid_token: "This code is not valid, has expired, or was already used. Start the sign-in again in your terminal and enter the new code.",
  too_many_attempts: "Too many codes were tried from here. Wait a minute, then try again.",
  account_suspended: "This account is suspended.",
};
// As the terminal shows it: XXXX-XXXX (what was typed, in any case or spacing).
function shown(code) {
  const letters = code.replace(/[\s-]/g, "").toUpperCase();
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : letters;
}
const explain = (e) => (e instanceof ApiError && EXPLAIN[e.code]) || e.message;

export async function device(_, ctx) {
  const fromLink = ctx.fragment.get("user_code");
  if (!session.signedIn()) {
    keep(fromLink);
    return navigate(`/signin?next=${encodeURIComponent("/device")}`, { replace: true });
  }
  const code = fromLink || takeKept();
  const body = h("div", { id: "device" });
  const status = statusLine();

  function ask(note = null) {
    const enter = form({
      id: "device-code",
      fields: [{
        name: "user_code", label: "Code", required: true, autocomplete: "off", maxlength: 20,
        placeholder: "BCDF-GHJK", hint: "The code your terminal shows, e.g. BCDF-GHJK. Case and spaces do not matter.",
      }],
      submit: "Continue",
      onSubmit: async (v) => {
        await show(v.user_code.trim());
      },
    });
    body.replaceChildren(
      h("p", { class: "lead" }, "A command-line tool asked to sign in to Latchkey as you. Enter the code it shows."),
      note ? h("p", { class: "form-error", role: "alert" }, note) : "",
      enter);
  }

  async function show(userCode) {
    let request;
    try {
      request = await api("POST", "/v1/auth/device/preview", { user_code: userCode });
    } catch (e) {
      if (e instanceof ApiError && e.status < 500) return ask(explain(e));
      throw e;
    }
    const me = session.user();
    /** @param {"approve" | "deny"} verb */
    const decide = (verb) => async () => {
      try {
        const done = verb === "approve"
          ? await api("POST", "/v1/auth/device/approve", { user_code: userCode })
          : await api("POST", "/v1/auth/device/deny", { user_code: userCode });
        body.replaceChildren(done.status === "approved"
          ? h("p", { id: "device-done" }, `Approved. ${done.client_name} is now signed in as ${me ? me.email : "you"}. Return to your terminal; you can close this page.`)
          : h("p", { id: "device-done" }, "Denied. The device was not signed in. Return to your terminal; you can close this page."));
        status.textContent = done.status === "approved" ? "Sign-in approved." : "Sign-in denied.";
      } catch (e) {
        body.replaceChildren(h("p", { class: "form-error", role: "alert" }, explain(e)));
      }
    };
    body.replaceChildren(section("Sign-in request",
      h("dl", { class: "facts" },
        h("dt", {}, "Client"), h("dd", { id: "device-client" }, request.client_name),
        h("dt", {}, "Code"), h("dd", { id: "device-code-shown" }, shown(userCode)),
        h("dt", {}, "IP address"), h("dd", { id: "device-ip" }, request.requested_ip || "Unknown"),
        h("dt", {}, "User agent"), h("dd", { id: "device-agent" }, request.requested_user_agent || "Unknown"),
        h("dt", {}, "Requested"), h("dd", {}, when(request.created_at)),
        h("dt", {}, "Expires"), h("dd", {}, when(request.expires_at))),
      h("p", { class: "warning", role: "note" },
        "Only approve if you started this sign-in yourself, just now, on a device you trust. ",
        `Approving signs ${request.client_name} in as ${me ? me.email : "you"}, with full access to your account. `,
        "If someone sent you this code, deny it."),
      h("div", { class: "actions" },
        action("Approve", decide("approve"), { id: "device-approve", class: "primary" }),
        action("Deny", decide("deny"), { id: "device-deny", class: "danger" }))));
  }

  if (code) await show(code);
  else ask();
  return screen(TITLE, status, body);
}
