// Account Settings: profile and password; Security: two-factor
// authentication (Enable 2FA with QR code and manual secret, confirm,
// recovery codes with download; regenerate; disable), sessions (sign out one
// or everywhere), linked sign-in methods (link / unlink providers).
import { api, all, enc } from "../api.js";
import { session } from "../session.js";
import { state, loadNav } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, section, form, toast, dangerAction, action, table, when, copyButton, badge, statusLine, confirm } from "../ui.js";
import { signInBox, signedIn, completeOAuth, providerMessage } from "./auth.js";

export async function profile() {
  const me = await api("GET", "/v1/me");
  return screen("Account Settings",
    section("Profile", h("p", {}, `Signed in as ${me.email}.`), form({
      id: "profile",
      fields: [{ name: "name", label: "Name", value: me.name, required: true, maxlength: 100, autocomplete: "name" }],
      submit: "Save",
      onSubmit: async (v) => {
        await api("PATCH", "/v1/me", { name: v.name });
        await loadNav();
        toast("Saved");
      },
    })),
    section("Password", form({
      id: "password",
      fields: [
        { name: "current_password", label: "Current password", type: "password", autocomplete: "current-password", required: true },
        { name: "new_password", label: "New password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true },
      ],
      submit: "Change password",
      onSubmit: async (v, f) => {
        try {
          await api("POST", "/v1/me/password", v);
        } catch (e) {
          if (e.code === "invalid_credentials") return f.fieldError("current_password", "This is not your current password.");
          throw e;
        }
        f.reset();
        toast("Password changed; your other sessions were signed out.");
      },
    })),
    h("p", {}, h("a", { href: "/settings/security" }, "Two-factor authentication, sessions and sign-in methods are under Security.")));
}

// A message to show after the screen re-renders itself (a sign-in through a
// provider switches from the bare layout to the console's).
let carried = null;

export async function security(_, ctx) {
  const status = statusLine();
  if (carried) {
    status.textContent = carried;
    carried = null;
  }
  const code = ctx.fragment.get("login_code");
  const err = ctx.fragment.get("error");
  if (err) status.textContent = providerMessage(err);
  if (code) {
    // Back from a provider: this finishes a link (signed in) or a sign-in.
    try {
      const r = await completeOAuth(code);
      if (r.linked) status.textContent = `Linked ${r.linked.provider}.`;
      else if (r.access_token) await signedIn(r);
      else if (r.mfa_required) status.textContent = "Your account uses two-factor authentication: sign in with your password and code.";
    } catch (e) {
      status.textContent = providerMessage(e.code);
    }
    if (session.signedIn()) {
      carried = status.textContent;
      navigate(location.pathname, { replace: true });
      return null;
    }
  }
  if (!session.signedIn()) {
    return screen("Security", h("p", {}, "Sign in to manage two-factor authentication, sessions and sign-in methods."), status,
      signInBox({ returnTo: "/settings/security", done: () => navigate("/settings/security", { replace: true }) }));
  }
  const me = await api("GET", "/v1/me");
  return screen("Security", status, twoFactor(me), await sessions(), await identities());
}

function recoveryCodes(codes) {
  const text = codes.join("\n");
  return h("div", { id: "codes", class: "card reveal" },
    h("p", {}, "Save these recovery codes somewhere safe: each works once if you lose your authenticator, and they are shown only now."),
    h("pre", { id: "code-list" }, text),
    h("div", { class: "actions" }, copyButton(text, "Copy codes"),
      h("a", { id: "download", class: "button secondary", download: "latchkey-recovery-codes.txt", href: "data:text/plain;charset=utf-8," + encodeURIComponent(text + "\n") }, "Download as text")));
}

function twoFactor(me) {
  const box = h("div");
  const lead = h("p", { id: "lead" });
  const draw = (user) => {
    if (!user.totp_enabled) {
      lead.textContent = `Two-factor authentication is off for ${user.email}.`;
      const start = action("Enable 2FA", async () => {
        const r = await api("POST", "/v1/me/totp");
        box.replaceChildren(lead, h("div", { id: "enrol" },
          h("p", {}, "Scan this QR code with your authenticator app, or type the key into it."),
          h("img", { id: "qr", alt: "QR code for your authenticator app", width: "200", height: "200", src: "data:image/svg+xml;base64," + btoa(r.qr_svg) }),
          h("p", {}, "Key: ", h("code", { id: "secret" }, r.secret)),
          form({
            id: "confirm",
            fields: [{ name: "code", label: "6-digit code from the app", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", required: true }],
            submit: "Turn on",
            onSubmit: async (v) => {
              let done;
              try {
                done = await api("POST", "/v1/me/totp/confirm", { code: v.code.trim() });
              } catch (e) {
                if (e.code === "invalid_otp") throw new Error("That code did not work; wait for the next one and try again.");
                throw e;
              }
              lead.textContent = `Two-factor authentication is on for ${user.email}.`;
              box.replaceChildren(lead, recoveryCodes(done.recovery_codes));
              loadNav().catch(() => {});
            },
          })));
        box.querySelector("#confirm input").focus();
      }, { id: "start", class: "primary" });
      box.replaceChildren(lead, start);
      return;
    }
    lead.textContent = `Two-factor authentication is on for ${user.email}.`;
    const out = h("div");
    box.replaceChildren(lead,
      h("h3", {}, "New recovery codes"),
      form({
        id: "regenerate",
        fields: [{ name: "code", label: "Code from your authenticator app", inputmode: "numeric", autocomplete: "one-time-code", required: true }],
        submit: "Regenerate recovery codes",
        onSubmit: async (v, f) => {
          const r = await api("POST", "/v1/me/recovery-codes", { code: v.code.trim() });
          f.reset();
          out.replaceChildren(recoveryCodes(r.recovery_codes));
        },
      }), out,
      h("h3", {}, "Turn off"),
      form({
        id: "disable",
        fields: [{ name: "code", label: "Code from your authenticator app", inputmode: "numeric", autocomplete: "one-time-code", required: true }],
        submit: "Disable 2FA",
        danger: true,
        onSubmit: async (v) => {
          if (!(await confirm({ title: "Turn off two-factor authentication?", body: "Signing in will need only your password. Organizations that require 2FA will refuse you.", confirm: "Disable 2FA" }))) return;
          await api("DELETE", "/v1/me/totp", { code: v.code.trim() });
          toast("Two-factor authentication is off");
          draw({ ...user, totp_enabled: false });
        },
      }));
  };
  draw(me);
  return section("Two-factor authentication", box);
}

async function sessions() {
  const box = h("div");
  async function draw() {
    const list = await all("/v1/me/sessions");
    box.replaceChildren(table("Sessions", ["Signed in", "Last active", "How", "Device", "Actions"], list.map((s) => [
      h("span", {}, when(s.created_at), s.current ? [" ", badge("This browser", "ok")] : null),
      when(s.last_used_at), s.client_name ? `${s.method} (${s.client_name})` : s.method, s.user_agent || "—",
      s.current
        ? action("Sign out", async () => {
            await session.signOut();
            navigate("/signin", { replace: true });
          })
        : dangerAction("Sign out", { title: "Sign out this session?", body: "That device must sign in again.", confirm: "Sign out" }, async () => {
            await api("DELETE", `/v1/me/sessions/${enc(s.id)}`);
            toast("Session signed out");
            await draw();
          }, { "aria-label": `Sign out the session signed in ${when(s.created_at)}` }),
    ])),
    h("p", {}, dangerAction("Sign out everywhere", { title: "Sign out everywhere?", body: "Every session, this one included, ends now.", confirm: "Sign out everywhere" }, async () => {
      for (const s of list.filter((x) => !x.current)) await api("DELETE", `/v1/me/sessions/${enc(s.id)}`);
      await session.signOut();
      navigate("/signin", { replace: true });
    }, { id: "sign-out-everywhere" })));
  }
  await draw();
  return section("Sessions", box);
}

async function identities() {
  const box = h("div", { id: "identities" });
  const status = statusLine();
  async function draw() {
    const [linked, providers] = await Promise.all([
      api("GET", "/v1/me/identities").then((r) => r.data),
      api("GET", "/v1/auth/oauth/providers", undefined, { auth: false }).then((r) => r.data).catch(() => []),
    ]);
    const have = new Set(linked.map((i) => i.provider));
    box.replaceChildren(
      linked.length
        ? h("ul", { id: "identity-list" }, linked.map((i) => h("li", {}, `${i.provider}${i.email ? ` (${i.email})` : ""} `,
            dangerAction("Unlink", { title: `Unlink ${i.provider}?`, body: "You will no longer sign in with it.", confirm: "Unlink" }, async () => {
              try {
                await api("DELETE", `/v1/me/identities/${enc(i.provider)}`);
              } catch (e) {
                if (e.code === "last_login_method") throw new Error("This is your only way to sign in: set a password first (reset it by email).");
                throw e;
              }
              toast("Unlinked");
              await draw();
            }))))
        : h("ul", { id: "identity-list" }, h("li", {}, "Only your password.")),
      h("div", { class: "oauth" }, providers.filter((p) => !have.has(p.provider)).map((p) => action(`Link ${p.name}`, async () => {
        try {
          const r = await api("POST", `/v1/me/identities/${enc(p.provider)}`, { redirect_uri: location.origin + "/settings/security" });
          location.assign(r.authorize_url);
        } catch (e) {
          if (e.code === "reauthentication_required") throw new Error("For your safety, sign out and sign in again (within 10 minutes) to link a provider.");
          throw e;
        }
      }, { id: `link-${p.provider}` }))),
      status);
  }
  await draw();
  return section("Sign-in methods", box);
}


