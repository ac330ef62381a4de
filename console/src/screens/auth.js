// Sign in (password, 2FA step, "Continue with" providers), sign up, the
// "check your email" step, verify email and reset password.
import { api, ApiError, enc } from "../api.js";
import { session } from "../session.js";
import { loadNav } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, form, toast, action, confirm, when } from "../ui.js";

const PROVIDER_ERRORS = {
  access_denied: "You did not approve the sign-in at the provider.",
  provider_error: "The provider did not confirm who you are. Try again.",
  provider_email_unverified: "The provider has not verified your email address. Verify it there, or sign in (or sign up) with email and link the provider under Account Settings → Security.",
  identity_in_use: "That provider account is already linked to another Latchkey account.",
  provider_already_linked: "Another account of that provider is already linked.",
  invalid_token: "That sign-in link was not started in this browser, took too long or was already used. Nothing changed; to sign in with a provider, start from this page.",
  oauth_switch_declined: "You stayed signed in as yourself.",
  sso_required: "Your organization signs you in through single sign-on: use \"Sign in with SSO\".",
  sso_connection_unavailable: "Your organization's single sign-on is turned off. Ask its owner.",
  invalid_state: "That sign-in took too long or was already used. Try again.",
};

export function providerMessage(code) {
  return PROVIDER_ERRORS[code] || "Sign-in with the provider did not complete.";
}

function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

// Keeps the session from a sign-in answer and loads the sidebar.
export async function signedIn(data) {
  session.start(data);
  await loadNav().catch(() => {});
}

// The sign-in form with its second step. `email` fixes the address (an
// invitation's); `done(session)` runs once signed in. `returnTo` is the page
// providers send the browser back to (it must be one the Worker allows).
// `labelledBy` names the form by a heading (pages with another form).
export function signInBox({ email = null, done, returnTo = "/signin", onLeave = null, labelledBy = null }) {
  const box = h("div", { class: "signin" });
  const fields = [];
  if (!email) fields.push({ name: "email", label: "Email", type: "email", autocomplete: "email", required: true });
  fields.push({ name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true });
  const passwordForm = form({
    id: "signin",
    labelledBy,
    fields,
    submit: "Sign in",
    onSubmit: async (v) => {
      const address = email || v.email;
      try {
        const data = await api("POST", "/v1/auth/login", { email: address, password: v.password }, { auth: false, browser: true });
        if (data.mfa_required) return secondStep(data.mfa_token);
        await signedIn(data);
        await done(data);
      } catch (e) {
        if (e instanceof ApiError && e.code === "sso_required") return ssoStep(address, e.message);
        if (e instanceof ApiError && e.code === "email_not_verified") {
          passwordForm.after(h("p", {}, action("Email me a new verification link", async () => {
            await api("POST", "/v1/auth/resend-verification", { email: address }, { auth: false });
            toast("If the address needs it, a new link is on its way.");
          })));
        }
        throw e;
      }
    },
  });
  function secondStep(mfaToken) {
    let recovery = false;
    const hint = h("p", { id: "mfa-lead" }, "Two-factor authentication is on for this account. Enter the 6-digit code from your authenticator app.");
    const build = () => form({
      id: "mfa",
      fields: [recovery
        ? { name: "code", label: "Recovery code", autocomplete: "off", required: true }
        : { name: "code", label: "Authentication code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", required: true }],
      submit: "Verify",
      onSubmit: async (v) => {
        const body = recovery ? { mfa_token: mfaToken, recovery_code: v.code.trim() } : { mfa_token: mfaToken, code: v.code.trim() };
        const data = await api("POST", "/v1/auth/login/mfa", body, { auth: false, browser: true });
        await signedIn(data);
        await done(data);
      },
      secondary: h("button", { type: "button", class: "link", onclick: () => { recovery = !recovery; draw(); } },
        recovery ? "Use an authentication code" : "Use a recovery code instead"),
    });
    const draw = () => {
      const f = build();
      box.replaceChildren(hint, f);
      f.querySelector("input").focus();
    };
    draw();
  }
  // Single sign-on: the address's domain names the org's provider.
  function ssoStep(address = "", why = "") {
    const lead = h("p", { id: "sso-lead" }, why || "Enter your work email: your organization's identity provider signs you in.");
    const ssoForm = form({
      id: "sso",
      fields: [{ name: "sso_email", label: "Work email", type: "email", autocomplete: "email", required: true, value: address }],
      submit: "Continue with SSO",
      onSubmit: async (v) => {
        const found = await api("POST", "/v1/auth/sso/lookup", { email: v.sso_email }, { auth: false });
        if (!found.sso) throw new ApiError(0, { code: "sso_not_set_up", detail: "Single sign-on is not set up for that address. Sign in with your password instead." });
        if (onLeave) onLeave();
        location.assign(`${found.authorize_url}?redirect_uri=${enc(location.origin + returnTo)}`);
      },
      secondary: h("button", { type: "button", class: "link", onclick: () => box.replaceChildren(passwordForm, oauth, ssoButton) }, "Sign in with a password"),
    });
    box.replaceChildren(lead, ssoForm);
    ssoForm.querySelector("input").focus();
  }
  const ssoButton = h("p", { class: "alt" }, h("button", { type: "button", class: "link", id: "continue-sso", onclick: () => ssoStep(email || passwordForm.querySelector("input[name=email]")?.value || "") }, "Sign in with SSO"));
  box.append(passwordForm);
  const oauth = h("div", { class: "oauth", id: "oauth-buttons" });
  box.append(oauth);
  api("GET", "/v1/auth/oauth/providers", undefined, { auth: false }).then((r) => {
    for (const p of r.data) {
      const a = h("a", { class: "button secondary", id: `continue-${p.provider}`,
        href: `/v1/auth/oauth/${p.provider}/authorize?redirect_uri=${enc(location.origin + returnTo)}` }, `Continue with ${p.name}`);
      if (onLeave) a.addEventListener("click", onLeave);
      oauth.append(a);
    }
  }).catch(() => {});
  box.append(ssoButton);
  return box;
}

// Back from a provider with #login_code=: exchange it (with my session when
// this finishes linking a provider to my account). Resolves to the answer.
// While someone is signed in, a sign-in code is never exchanged on its own
// (login CSRF: a link can carry someone else's code): the page names the
// account it would switch to and asks first. Declining throws
// ApiError code "oauth_switch_declined", and nothing changed.
export async function completeOAuth(code) {
  if (session.signedIn()) {
    const what = await api("POST", "/v1/auth/oauth/inspect", { login_code: code }, { auth: false });
    if (what.kind !== "link") {
      const me = session.user()?.email || "your current account";
      const target = what.account_email || "another account";
      const yes = await confirm({
        title: `Switch to ${target}?`,
        body: `You are signed in as ${me}. This sign-in link would sign this browser in as ${target} instead. Continue only if you started this sign-in yourself.`,
        confirm: `Sign in as ${target}`,
      });
      if (!yes) throw new ApiError(0, { code: "oauth_switch_declined", detail: "Kept the current account." });
    }
  }
  return api("POST", "/v1/auth/oauth/complete", { login_code: code }, { browser: true });
}

export async function signIn(_, ctx) {
  const next = safeNext(ctx.query.get("next"));
  const go = () => navigate(next, { replace: true });
  const lead = h("p", { id: "lead" });
  const code = ctx.fragment.get("login_code");
  const err = ctx.fragment.get("error");
  const box = signInBox({ done: go });
  if (code) {
    try {
      const data = await completeOAuth(code);
      if (data.access_token) {
        await signedIn(data);
        return go();
      }
      if (data.mfa_required) {
        const b = h("div", { class: "signin" });
        mfaFromToken(b, data.mfa_token, go);
        return screen("Sign in to Latchkey", h("p", { id: "lead" }, "Two-factor authentication is on for this account. Enter the 6-digit code from your authenticator app."), b);
      }
    } catch (e) {
      lead.textContent = providerMessage(e.code);
      lead.className = "form-error";
    }
  } else if (err) {
    lead.textContent = providerMessage(err);
    lead.className = "form-error";
  }
  return screen("Sign in to Latchkey", lead, box,
    h("p", { class: "alt" }, h("a", { href: "/signup" }, "Create an account"), " · ", h("a", { href: "/reset-password" }, "Forgot your password?")));
}

function mfaFromToken(box, mfaToken, done) {
  box.replaceChildren(form({
    id: "mfa",
    fields: [{ name: "code", label: "Authentication code", inputmode: "numeric", autocomplete: "one-time-code", required: true }],
    submit: "Verify",
    onSubmit: async (v) => {
      const data = await api("POST", "/v1/auth/login/mfa", { mfa_token: mfaToken, code: v.code.trim() }, { auth: false, browser: true });
      await signedIn(data);
      await done(data);
    },
  }));
}

export function signUp() {
  return screen("Create your account",
    form({
      id: "signup",
      fields: [
        { name: "name", label: "Name", autocomplete: "name", required: true, maxlength: 100 },
        { name: "email", label: "Email", type: "email", autocomplete: "email", required: true },
        { name: "password", label: "Password", type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128, hint: "At least 8 characters. Common passwords are refused." },
      ],
      submit: "Sign up",
      onSubmit: async (v) => {
        await api("POST", "/v1/auth/signup", { name: v.name, email: v.email, password: v.password }, { auth: false });
        navigate(`/check-email?email=${enc(v.email)}`);
      },
    }),
    h("p", { class: "alt" }, "Already have an account? ", h("a", { href: "/signin" }, "Sign in")));
}

export async function checkEmail(_, ctx) {
  const email = ctx.query.get("email") || "";
  const dev = h("div", { id: "dev-mail" });
  // With `make dev` the Worker keeps emails in a development sink instead of
  // sending them: offer the link from there (the route is 404 elsewhere).
  if (email) {
    // The queue delivers within a few seconds: look a few times.
    const look = async (tries) => {
      let found = null;
      try {
        const r = await api("GET", `/v1/dev/emails?to=${enc(email)}`, undefined, { auth: false });
        const texts = r.data.map((m) => m.text || "").reverse();
        for (const t of texts) found ??= /https?:\/\/\S+\/verify-email#token=[\w.~-]+/.exec(t);
      } catch {
        return; // Not a development server.
      }
      if (found) {
        const url = new URL(found[0]);
        dev.replaceChildren(h("p", { class: "hint" }, "Development server: the email was kept in the local mail sink instead of being sent. ",
          h("a", { href: location.origin + url.pathname + url.hash, id: "dev-verify-link" }, "Open the verification link")));
      } else if (tries > 0 && dev.isConnected !== false) {
        setTimeout(() => look(tries - 1), 1000);
      }
    };
    look(20);
  }
  return screen("Check your email",
    h("p", { id: "lead" }, `If ${email || "that address"} can sign up, a verification link is on its way. Open it to finish.`),
    dev,
    h("p", {}, action("Send the link again", async () => {
      await api("POST", "/v1/auth/resend-verification", { email }, { auth: false });
      toast("If the address needs it, a new link is on its way.");
    })),
    h("p", { class: "alt" }, h("a", { href: "/signin" }, "Back to sign in")));
}

export function verifyEmail(_, ctx) {
  const token = ctx.fragment.get("token");
  const lead = h("p", { id: "lead" });
  if (!token) {
    lead.textContent = "This link is incomplete. Open the link from your email again.";
    return screen("Verify your email", lead);
  }
  // The link proves the inbox; the password proves which sign-up it is.
  lead.textContent = "Enter the password you chose when you signed up to finish verifying.";
  const f = form({
    id: "verify",
    fields: [{ name: "password", label: "Password", type: "password", autocomplete: "current-password", maxlength: 128, required: true }],
    submit: "Verify",
    onSubmit: async (v) => {
      let data;
      try {
        data = await api("POST", "/v1/auth/verify-email", { token, password: v.password }, { auth: false, browser: true });
      } catch (e) {
        if (e.code === "password_mismatch") {
          throw new ApiError(422, { code: e.code, errors: [{ field: "password", message: "That is not the password chosen when this sign-up was made. Try again, or sign up again to get a new link." }] });
        }
        if (e.code === "invalid_token") {
          f.remove();
          lead.textContent = "This link has expired or was already used. Sign in, or ask for a new verification email.";
          return;
        }
        throw e;
      }
      f.remove();
      if (data.mfa_required) {
        lead.textContent = "Your email is verified. Sign in to finish with your second factor.";
        lead.after(h("a", { href: "/signin", class: "button primary" }, "Sign in"));
        return;
      }
      // Verified and signed in: straight into the console, which a toast tells.
      await signedIn(data);
      await navigate("/", { replace: true });
      toast(`Your email ${data.user.email} is verified. You are signed in.`);
    },
  });
  return screen("Verify your email", lead, f);
}

export function resetPassword(_, ctx) {
  const token = ctx.fragment.get("token");
  const lead = h("p", { id: "lead" });
  if (!token) {
    lead.textContent = "Enter your account's email and we will send you a link to choose a new password.";
    const f = form({
      id: "request",
      fields: [{ name: "email", label: "Email", type: "email", autocomplete: "email", required: true }],
      submit: "Email me a link",
      onSubmit: async (v) => {
        await api("POST", "/v1/auth/password-reset", { email: v.email }, { auth: false });
        f.remove();
        lead.textContent = "If that address has an account, a link is on its way.";
      },
    });
    return screen("Reset your password", lead, f, h("p", { class: "alt" }, h("a", { href: "/signin" }, "Back to sign in")));
  }
  return resetWithToken(token, lead);
}

const PROVIDER_NAMES = { github: "GitHub", google: "Google", gitlab: "GitLab" };

// The reset link's screen. Sign-in methods linked in the 7 days before the
// reset end with it (someone holding a stolen session could have linked their
// own), unless the person ticks them here: unticked is the safe default.
async function resetWithToken(token, lead) {
  let recent = [];
  try {
    recent = (await api("POST", "/v1/auth/password-reset/preview", { token }, { auth: false })).recent_identities;
  } catch (e) {
    if (e.code === "invalid_token") {
      lead.textContent = "This link has expired or was already used. Ask for a new one.";
      return screen("Reset your password", lead, h("p", { class: "alt" }, h("a", { href: "/reset-password" }, "Send a new link")));
    }
  }
  lead.textContent = "Choose a new password. Every session will be signed out.";
  const keep = recent.map((i) => ({
    name: `keep_${i.provider}`,
    type: "checkbox",
    label: `Keep ${PROVIDER_NAMES[i.provider] || i.provider}${i.email ? ` (${i.email})` : ""}, linked ${when(i.linked_at)}`,
    hint: "Linked in the last 7 days. If you did not link it yourself, leave it unticked: the reset removes it.",
  }));
  const f = form({
    id: "confirm",
    fields: [{ name: "new_password", label: "New password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true }, ...keep],
    submit: "Set password",
    onSubmit: async (v) => {
      const keepIdentities = recent.map((i) => i.provider).filter((p) => v[`keep_${p}`]);
      try {
        await api("POST", "/v1/auth/password-reset/confirm", { token, new_password: v.new_password, keep_identities: keepIdentities }, { auth: false });
      } catch (e) {
        if (e.code === "invalid_token") throw new Error("This link has expired or was already used. Ask for a new one.");
        throw e;
      }
      f.remove();
      lead.textContent = "Your password is set. Every session was signed out; sign in with the new password.";
      lead.after(h("a", { href: "/signin", class: "button primary" }, "Sign in"));
    },
  });
  return screen("Reset your password", lead, f);
}

