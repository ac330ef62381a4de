// Where emailed and shared links land: /invite#token=…, /install#token=… and
// /confirm-channel-email#token=… (and /join#token=…, in joinlinks.js).
// The token is read from the fragment (never sent to a server by the
// browser) and wiped from the address bar at once (router.takeFragment).
import { api } from "../api.js";
import { session } from "../session.js";
import { state, loadNav, can } from "../state.js";
import { navigate } from "../router.js";
import { h, screen, form, action, statusLine, toast } from "../ui.js";
import { signInBox, signedIn, completeOAuth, providerMessage } from "./auth.js";

const PENDING = "latchkey.link_return";

// "Continue with …" leaves for the provider, which can only return to the
// bare /invite or /install: the link's token (an invitation or install token,
// never a session credential) waits in sessionStorage for that round trip
// only, and is removed as soon as the page reads it back.
export function keepForOAuth(token) {
  return () => {
    try {
      sessionStorage.setItem(PENDING, token);
    } catch {
      // Storage off: the person opens the link again after signing in.
    }
  };
}

async function tokenAndReturn(ctx) {
  let token = ctx.fragment.get("token");
  const code = ctx.fragment.get("login_code");
  const err = ctx.fragment.get("error");
  let note = err ? providerMessage(err) : null;
  if (code || err) {
    try {
      token = sessionStorage.getItem(PENDING);
      sessionStorage.removeItem(PENDING);
    } catch {
      token = null;
    }
  }
  if (code) {
    try {
      const data = await completeOAuth(code);
      if (data.access_token) await signedIn(data);
      else if (data.mfa_required) note = "Your account uses two-factor authentication: sign in with your password and code below.";
    } catch (e) {
      note = providerMessage(e.code);
    }
  }
  return { token, note };
}

// How every link screen starts: the token (and a note from a provider round
// trip), the lead and status lines, and the link's preview. Answers
// { screen } when there is no more to show (no token, or the preview was
// refused), else { token, lead, status, preview }.
export async function openLink(ctx, { title, incomplete = "", preview, explain, back = true }) {
  const { token, note } = await tokenAndReturn(ctx);
  const lead = h("p", { id: "lead" });
  const status = statusLine();
  if (note) status.textContent = note;
  if (!token) {
    lead.textContent = incomplete || "This link is incomplete. Open the link you were given again.";
    return { screen: screen(title, lead, status) };
  }
  try {
    return { token, lead, status, preview: await preview(token) };
  } catch (e) {
    lead.textContent = explain(e);
    const home = back ? [h("p", { class: "alt" }, h("a", { href: "/" }, "Go to the console"))] : [];
    return { screen: screen(title, lead, ...home) };
  }
}

const INVITE_ERRORS = {
  invitation_expired: "This invitation has expired. Ask the person who invited you to send a new one.",
  invitation_revoked: "This invitation was revoked.",
  invitation_declined: "This invitation was declined.",
  invitation_already_accepted: "This invitation was already accepted. Sign in to see the organization.",
  invitation_not_found: "This invitation link is not valid. It may have been replaced by a newer email.",
  invitation_email_mismatch: "This invitation is for another email address. Sign in with that address.",
};
const explain = (e) => INVITE_ERRORS[e.code] || e.message;

export async function invite(_, ctx) {
  const opened = await openLink(ctx, {
    title: "You're invited",
    incomplete: "This link is incomplete. Open the link from your email again.",
    preview: (token) => api("POST", "/v1/invitations/preview", { token }, { auth: false }),
    explain,
  });
  if (opened.screen) return opened.screen;
  const { token, lead, status, preview: inv } = opened;
  const target = inv.org ? inv.org.name : inv.workspace ? inv.workspace.name : "a workspace";
  lead.textContent = `${inv.invited_by.name || "Someone"} invited ${inv.email} to join ${target} as ${inv.role}.`;
  const body = h("div", { id: "invite-actions" });

  // Joined: straight into the organization (or workspace), which a toast names.
  const joined = async (answer) => {
    await loadNav().catch(() => {});
    const name = answer.org ? answer.org.name : answer.workspace ? answer.workspace.name : target;
    const orgId = answer.org?.id || state.orgs.find((o) => inv.org && o.slug === inv.org.slug)?.id;
    const wsId = answer.workspace?.id || (inv.workspace && state.workspaces.find((w) => w.name === inv.workspace.name)?.id);
    await navigate(orgId ? `/orgs/${orgId}/team` : wsId ? `/workspaces/${wsId}` : "/", { replace: true });
    toast(`You joined ${name} as ${answer.role}.`);
  };
  const decline = action("Decline", async () => {
    await api("POST", "/v1/invitations/decline", { token }, { auth: false });
    body.replaceChildren();
    lead.textContent = "You declined the invitation.";
  }, { id: "decline" });

  const me = session.user();
  if (session.signedIn() && me && me.email === inv.email) {
    body.append(h("div", { class: "actions" }, action("Accept", async () => {
      try {
        await joined(await api("POST", "/v1/invitations/accept", { token }));
      } catch (e) {
        throw new Error(explain(e));
      }
    }, { id: "accept", class: "primary" }), decline));
  } else if (session.signedIn() && me) {
    body.append(h("p", {}, `You are signed in as ${me.email}, but this invitation is for ${inv.email}.`),
      action("Sign out", async () => {
        await session.signOut();
        navigate("/invite", { replace: true });
      }));
  } else {
    // Invitation sign-up: the account is created verified (the link proved the inbox).
    // Two forms on one page: each is named by its heading, and the new
    // password is labelled apart from the existing one.
    const signup = form({
      id: "signup",
      labelledBy: "signup-title",
      fields: [
        { name: "name", label: "Name", autocomplete: "name", required: true, maxlength: 100 },
        { name: "password", label: "Choose a password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true, hint: "At least 8 characters. Common passwords are refused." },
      ],
      submit: "Sign up and join",
      onSubmit: async (v) => {
        let data;
        try {
          data = await api("POST", "/v1/auth/signup", { email: inv.email, password: v.password, name: v.name, invitation_token: token }, { auth: false, browser: true });
        } catch (e) {
          if (e.code === "account_exists") throw new Error("You already have an account: sign in below.");
          throw new Error(explain(e));
        }
        if (!data || !data.access_token) throw new Error("This invitation could not be used to sign up. Sign in below instead.");
        session.start(data);
        await joined({ org: null, workspace: null, role: inv.role });
      },
    });
    const signin = signInBox({
      email: inv.email,
      labelledBy: "signin-title",
      returnTo: "/invite",
      onLeave: keepForOAuth(token),
      done: async () => {
        try {
          await joined(await api("POST", "/v1/invitations/accept", { token }));
        } catch (e) {
          status.textContent = explain(e);
        }
      },
    });
    body.append(h("h2", { id: "signup-title" }, "Create your account"), h("p", {}, `New to Latchkey? Your account will use ${inv.email}.`), signup,
      h("h2", { id: "signin-title" }, "Sign in instead"), h("p", {}, `Already have an account? Sign in as ${inv.email}.`), signin,
      h("p", { class: "alt" }, decline));
  }
  return screen("You're invited", lead, status, body);
}

export async function install(_, ctx) {
  const opened = await openLink(ctx, {
    title: "Grant access",
    preview: (token) => api("POST", "/v1/install-links/preview", { token }, { auth: false }),
    explain: (e) => e.code === "install_link_unavailable" ? "This install link was revoked or has expired. Ask for a new one." : e.message,
    back: false,
  });
  if (opened.screen) return opened.screen;
  const { token, lead, status, preview } = opened;
  const org = preview.org;
  lead.textContent = `${org.name} asks for admin access to one of your workspaces. You keep billing and deletion, and can revoke the access at any time.`;
  const body = h("div");
  const choose = async () => {
    if (!state.loaded) await loadNav().catch(() => {});
    const owned = state.workspaces.filter((w) => can(w, "org:delete"));
    if (!owned.length) {
      body.replaceChildren(h("p", {}, "You own no workspace to grant yet. ", h("a", { href: "/workspaces/new" }, "Create a workspace"), ", then open this link again."));
      return;
    }
    body.replaceChildren(form({
      id: "approve",
      fields: [{ name: "workspace_id", label: "Workspace", type: "select", options: owned.map((w) => [w.id, w.name]) }],
      submit: "Approve access",
      onSubmit: async (v) => {
        try {
          await api("POST", "/v1/install-links/accept", { token, workspace_id: v.workspace_id });
        } catch (e) {
          if (e.code === "grant_exists") throw new Error(`${org.name} already has access to that workspace.`);
          throw e;
        }
        const ws = owned.find((w) => w.id === v.workspace_id);
        lead.textContent = `${org.name} now has admin access to ${ws.name}.`;
        body.replaceChildren(h("a", { href: `/workspaces/${ws.id}`, class: "button primary" }, `Open ${ws.name}`));
      },
    }));
  };
  if (session.signedIn()) await choose();
  else {
    body.append(h("p", {}, "Sign in to choose a workspace."),
      signInBox({ returnTo: "/install", onLeave: keepForOAuth(token), done: choose }));
  }
  return screen("Grant access", lead, status, body);
}

// /confirm-channel-email#token=…: an address added to an email notification
// channel confirms it receives that org's events. Public: holding the link
// is the proof, no sign-in needed; following it again says the same. It
// confirms on a click, not on opening: mail scanners that open links (and
// run their scripts) confirm nothing.
export async function confirmChannelEmail(_, ctx) {
  const token = ctx.fragment.get("token");
  const lead = h("p", { id: "lead" });
  const title = "Confirm notifications";
  if (!token) {
    lead.textContent = "This link is incomplete. Open the link from your email again.";
    return screen(title, lead);
  }
  lead.textContent = "An admin of an organization on Latchkey added this address to its email notifications. Nothing is sent to it until you confirm.";
  const body = h("div", { id: "confirm-actions" });
  body.append(action("Confirm this address", async () => {
    let done;
    try {
      done = await api("POST", "/v1/notification-channels/confirm-email", { token }, { auth: false });
    } catch (e) {
      lead.textContent = e.code === "invalid_token"
        ? "This link is not valid or has expired (links work for 7 days). Ask an admin of the organization to add the address again."
        : e.message;
      body.replaceChildren();
      return;
    }
    lead.textContent = `${done.email} is confirmed: it will receive ${done.org_name}'s notifications by email.`;
    body.replaceChildren(h("p", {}, "To stop them, ask an admin of the organization to remove this address's channel."));
  }, { id: "confirm", class: "primary" }));
  return screen(title, lead, body);
}
