// Latchkey pages: read the token from the URL fragment (never sent to a
// server), remove it from the address bar, and talk to the JSON API.
(function () {
  "use strict";
  var fragment = new URLSearchParams(location.hash.slice(1));
  var token = fragment.get("token");
  // The OAuth callback returns here with a single-use login code (or an error) in the fragment.
  var loginCode = fragment.get("login_code"), oauthError = fragment.get("error");
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  var statusEl = document.getElementById("status");
  function say(text, kind) { statusEl.textContent = text; statusEl.className = kind || ""; }
  function api(method, path, body, bearer) {
    var headers = { "content-type": "application/json" };
    if (bearer) headers.authorization = "Bearer " + bearer;
    return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.text().then(function (t) {
          var data = null; try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
          return { status: r.status, ok: r.ok, data: data };
        });
      });
  }
  function problem(res) { return (res.data && res.data.detail) || ("Request failed (" + res.status + ")"); }
  function remember(session) { try { sessionStorage.setItem("latchkey.session", JSON.stringify(session)); } catch (e) { /* storage off */ } }
  function providers() {
    return api("GET", "/v1/auth/oauth/providers").then(function (r) { return r.ok ? r.data.data : []; });
  }
  // "Continue with …" links for the configured providers; the provider sends the browser back to this page.
  function oauthButtons(container) {
    providers().then(function (list) {
      list.forEach(function (p) {
        var a = document.createElement("a");
        a.href = "/v1/auth/oauth/" + p.provider + "/authorize?redirect_uri=" + encodeURIComponent(location.origin + location.pathname);
        a.textContent = "Continue with " + p.name;
        a.id = "continue-" + p.provider;
        container.appendChild(a);
      });
    });
  }
  var oauthMessages = {
    access_denied: "You did not approve the sign-in at the provider.",
    provider_error: "The provider did not confirm who you are. Try again.",
    email_taken: "An account already uses this address, and the provider has not verified it. Sign in with your password, then link the provider below.",
    provider_email_unverified: "The provider has not verified your email address. Verify it there, or sign up with email.",
    identity_in_use: "That provider account is already linked to another Latchkey account.",
    provider_already_linked: "Another account of that provider is already linked.",
    invalid_token: "That sign-in took too long or was already used. Try again."
  };
  function formValues(form) { var out = {}; new FormData(form).forEach(function (v, k) { out[k] = v; }); return out; }

  var pages = {
    "verify-email": function () {
      var lead = document.getElementById("lead"), form = document.getElementById("verify");
      if (!token) { lead.textContent = "This link is incomplete. Open the link from your email again."; return; }
      // The link proves the inbox; the password proves which sign-up this is.
      lead.textContent = "Enter the password you chose when you signed up to finish verifying.";
      form.hidden = false;
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        api("POST", "/v1/auth/verify-email", { token: token, password: formValues(form).password }).then(function (res) {
          if (res.ok && res.data && res.data.mfa_required) {
            form.hidden = true;
            lead.textContent = "Your email is verified. Sign in to finish with your second factor.";
            say("Verified", "ok");
          } else if (res.ok) {
            form.hidden = true;
            remember(res.data);
            lead.textContent = "Your email " + res.data.user.email + " is verified. You are signed in.";
            say("Verified", "ok");
          } else if (res.data && res.data.code === "password_mismatch") {
            say("That is not the password chosen when this sign-up was made. Try again, or sign up again to get a new link.", "error");
          } else if (res.data && res.data.code === "invalid_token") {
            form.hidden = true;
            lead.textContent = "This link has expired or was already used. Sign in, or ask for a new verification email.";
            say("Link no longer valid", "error");
          } else { say(problem(res), "error"); }
        });
      });
    },
    "reset-password": function () {
      var request = document.getElementById("request"), confirm = document.getElementById("confirm");
      var form = token ? confirm : request;
      form.hidden = false;
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var v = formValues(form);
        if (!token) {
          api("POST", "/v1/auth/password-reset", { email: v.email }).then(function (res) {
            say(res.ok ? "If that address has an account, a link is on its way." : problem(res), res.ok ? "ok" : "error");
          });
          return;
        }
        api("POST", "/v1/auth/password-reset/confirm", { token: token, new_password: v.new_password }).then(function (res) {
          if (res.ok) { form.hidden = true; say("Your password is set. Every session was signed out; sign in with the new password.", "ok"); }
          else if (res.data && res.data.code === "invalid_token") { say("This link has expired or was already used. Ask for a new one.", "error"); }
          else { say(problem(res), "error"); }
        });
      });
    }
  };
  pages.invite = function () {
    var lead = document.getElementById("lead"), actions = document.getElementById("actions"), auth = document.getElementById("auth");
    var invitation = null;
    var messages = {
      invitation_expired: "This invitation has expired. Ask the person who invited you to send a new one.",
      invitation_revoked: "This invitation was revoked.",
      invitation_declined: "This invitation was declined.",
      invitation_already_accepted: "This invitation was already accepted. Sign in to see the organization.",
      invitation_not_found: "This invitation link is not valid. It may have been replaced by a newer email.",
      invitation_email_mismatch: "This invitation is for another email address. Sign in with that address."
    };
    function explain(res) { return (res.data && messages[res.data.code]) || problem(res); }
    function stored() { try { return JSON.parse(sessionStorage.getItem("latchkey.session") || "null"); } catch (e) { return null; } }
    function joined(res) {
      actions.hidden = true; auth.hidden = true;
      var name = res.data.org ? res.data.org.name : "the workspace";
      lead.textContent = "You joined " + name + " as " + res.data.role + ".";
      say("Joined", "ok");
    }
    function offer(session) {
      auth.hidden = true; actions.hidden = false;
      document.getElementById("accept").onclick = function () {
        api("POST", "/v1/invitations/accept", { token: token }, session.access_token).then(function (res) {
          if (res.ok) joined(res); else say(explain(res), "error");
        });
      };
    }
    if (!token) { lead.textContent = "This link is incomplete. Open the link from your email again."; return; }
    api("POST", "/v1/invitations/preview", { token: token }).then(function (res) {
      if (!res.ok) { lead.textContent = explain(res); say("Invitation unavailable", "error"); return; }
      invitation = res.data;
      var target = invitation.org ? invitation.org.name : "a workspace";
      lead.textContent = (invitation.invited_by.name || "Someone") + " invited " + invitation.email + " to join " + target + " as " + invitation.role + ".";
      document.getElementById("decline").onclick = function () {
        api("POST", "/v1/invitations/decline", { token: token }).then(function (r) {
          if (r.ok) { actions.hidden = true; auth.hidden = true; lead.textContent = "You declined the invitation."; say("Declined", "ok"); }
          else say(explain(r), "error");
        });
      };
      var session = stored();
      if (session && session.user && session.user.email === invitation.email) { offer(session); return; }
      auth.hidden = false; actions.hidden = false;
      document.getElementById("accept").onclick = function () { say("Sign in or create your account first.", "error"); };
      var signup = document.getElementById("signup"), signin = document.getElementById("signin");
      signup.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var v = formValues(signup);
        api("POST", "/v1/auth/signup", { email: invitation.email, password: v.password, name: v.name, invitation_token: token }).then(function (r) {
          if (r.status === 201) { remember(r.data); joined({ data: { org: invitation.org, role: invitation.role } }); }
          else if (r.data && r.data.code === "account_exists") say("You already have an account: sign in below.", "error");
          else say(explain(r), "error");
        });
      });
      var mfaToken = null;
      signin.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var v = formValues(signin);
        var done = function (r) {
          if (r.ok && r.data.mfa_required) {
            mfaToken = r.data.mfa_token;
            document.getElementById("invite-mfa").hidden = false;
            say("Enter the code from your authenticator app", "");
          } else if (r.ok && r.data.access_token) { remember(r.data); say("Signed in as " + r.data.user.email, "ok"); offer(r.data); }
          else say(problem(r), "error");
        };
        if (mfaToken) api("POST", "/v1/auth/login/mfa", { mfa_token: mfaToken, code: v.code }).then(done);
        else api("POST", "/v1/auth/login", { email: invitation.email, password: v.password }).then(done);
      });
    });
  };

  pages.security = function () {
    var signin = document.getElementById("signin"), setup = document.getElementById("setup");
    var enrol = document.getElementById("enrol"), codesBox = document.getElementById("codes");
    var mfaToken = null;
    function stored() { try { return JSON.parse(sessionStorage.getItem("latchkey.session") || "null"); } catch (e) { return null; } }
    function showCodes(codes) {
      enrol.hidden = true; setup.hidden = true; codesBox.hidden = false;
      var text = codes.join("\n");
      document.getElementById("code-list").textContent = text;
      document.getElementById("download").href = "data:text/plain;charset=utf-8," + encodeURIComponent(text + "\n");
      document.getElementById("copy").onclick = function () {
        if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { say("Copied", "ok"); });
      };
      say("Two-factor authentication is on", "ok");
    }
    function manage(session) {
      signin.hidden = true;
      api("GET", "/v1/me", null, session.access_token).then(function (res) {
        if (!res.ok) { sessionStorage.removeItem("latchkey.session"); signin.hidden = false; return; }
        setup.hidden = false;
        var lead = document.getElementById("lead"), start = document.getElementById("start");
        if (res.data.totp_enabled) { lead.textContent = "Two-factor authentication is on for " + res.data.email + "."; start.hidden = true; return; }
        lead.textContent = "Two-factor authentication is off for " + res.data.email + ".";
        start.onclick = function () {
          api("POST", "/v1/me/totp", null, session.access_token).then(function (r) {
            if (!r.ok) { say(problem(r), "error"); return; }
            setup.hidden = true; enrol.hidden = false;
            document.getElementById("qr").src = "data:image/svg+xml;base64," + btoa(r.data.qr_svg);
            document.getElementById("secret").textContent = r.data.secret;
          });
        };
        var confirm = document.getElementById("confirm");
        confirm.addEventListener("submit", function (ev) {
          ev.preventDefault();
          api("POST", "/v1/me/totp/confirm", { code: formValues(confirm).code }, session.access_token).then(function (r) {
            if (r.ok) showCodes(r.data.recovery_codes);
            else say(r.data && r.data.code === "invalid_otp" ? "That code did not work; wait for the next one and try again." : problem(r), "error");
          });
        });
      });
    }
    function identities(session) {
      var box = document.getElementById("identities"), list = document.getElementById("identity-list");
      var buttons = document.getElementById("link-buttons");
      api("GET", "/v1/me/identities", null, session.access_token).then(function (r) {
        if (!r.ok) return;
        box.hidden = false; list.textContent = ""; buttons.textContent = "";
        var linked = {};
        r.data.data.forEach(function (i) {
          linked[i.provider] = true;
          var li = document.createElement("li");
          li.textContent = i.provider + (i.email ? " (" + i.email + ")" : "") + " ";
          var remove = document.createElement("button");
          remove.className = "secondary"; remove.textContent = "Unlink";
          remove.onclick = function () {
            api("DELETE", "/v1/me/identities/" + i.provider, null, session.access_token).then(function (d) {
              if (d.ok) { say("Unlinked", "ok"); identities(session); }
              else say(d.data && d.data.code === "last_login_method" ? "This is your only way to sign in: set a password (reset it by email) first." : problem(d), "error");
            });
          };
          li.appendChild(remove); list.appendChild(li);
        });
        providers().then(function (all) {
          all.filter(function (p) { return !linked[p.provider]; }).forEach(function (p) {
            var b = document.createElement("button");
            b.className = "secondary"; b.textContent = "Link " + p.name; b.id = "link-" + p.provider;
            b.onclick = function () {
              api("POST", "/v1/me/identities/" + p.provider, { redirect_uri: location.origin + location.pathname }, session.access_token).then(function (d) {
                if (d.ok) location.assign(d.data.authorize_url);
                else say(d.data && d.data.code === "reauthentication_required" ? "For your safety, sign out and sign in again to link a provider." : problem(d), "error");
              });
            };
            buttons.appendChild(b);
          });
        });
      });
    }
    function signedIn(r) {
      if (r.ok && r.data.mfa_required) {
        mfaToken = r.data.mfa_token; signin.hidden = false;
        document.getElementById("mfa-row").hidden = false; say("Enter the code from your app", "");
      } else if (r.ok && r.data.access_token) { remember(r.data); manage(r.data); identities(r.data); }
      else { signin.hidden = false; say((r.data && oauthMessages[r.data.code]) || problem(r), "error"); }
    }
    signin.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = formValues(signin);
      if (mfaToken) api("POST", "/v1/auth/login/mfa", { mfa_token: mfaToken, code: v.code }).then(signedIn);
      else api("POST", "/v1/auth/login", { email: v.email, password: v.password }).then(signedIn);
    });
    oauthButtons(document.getElementById("oauth-buttons"));
    var session = stored();
    if (loginCode) {
      // Back from the provider: exchange the code (with my session, in case this finishes a link).
      api("POST", "/v1/auth/oauth/complete", { login_code: loginCode }, session && session.access_token).then(function (r) {
        if (r.ok && r.data.linked) { say("Linked " + r.data.linked.provider, "ok"); manage(session); identities(session); }
        else signedIn(r);
      });
      return;
    }
    if (oauthError) say(oauthMessages[oauthError] || "Sign-in with the provider did not complete.", "error");
    if (session && session.access_token) { manage(session); identities(session); } else signin.hidden = false;
  };

  pages.install = function () {
    var lead = document.getElementById("lead"), signin = document.getElementById("signin"), approve = document.getElementById("approve");
    var select = document.getElementById("workspaces");
    function stored() { try { return JSON.parse(sessionStorage.getItem("latchkey.session") || "null"); } catch (e) { return null; } }
    if (!token) { lead.textContent = "This link is incomplete. Open the link you were given again."; return; }
    api("POST", "/v1/install-links/preview", { token: token }).then(function (res) {
      if (!res.ok) {
        lead.textContent = res.data && res.data.code === "install_link_unavailable"
          ? "This install link was revoked or has expired. Ask for a new one." : problem(res);
        say("Link unavailable", "error");
        return;
      }
      var org = res.data.org;
      lead.textContent = org.name + " asks for admin access to one of your workspaces. You keep billing and deletion, and can revoke the access at any time.";
      function choose(session) {
        signin.hidden = true;
        api("GET", "/v1/workspaces", null, session.access_token).then(function (r) {
          if (!r.ok) { say(problem(r), "error"); signin.hidden = false; return; }
          var owned = r.data.data.filter(function (w) { return w.role === "owner"; });
          if (!owned.length) { say("You own no workspace to grant.", "error"); return; }
          select.textContent = "";
          owned.forEach(function (w) { var o = document.createElement("option"); o.value = w.id; o.textContent = w.name; select.appendChild(o); });
          approve.hidden = false;
        });
        approve.onsubmit = function (ev) {
          ev.preventDefault();
          api("POST", "/v1/install-links/accept", { token: token, workspace_id: select.value }, session.access_token).then(function (r) {
            if (r.ok) { approve.hidden = true; lead.textContent = org.name + " now has admin access to " + select.options[select.selectedIndex].text + "."; say("Access granted", "ok"); }
            else if (r.data && r.data.code === "grant_exists") say(org.name + " already has access to that workspace.", "error");
            else say(problem(r), "error");
          });
        };
      }
      var session = stored();
      if (session && session.access_token) { choose(session); return; }
      signin.hidden = false;
      signin.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var v = formValues(signin);
        api("POST", "/v1/auth/login", { email: v.email, password: v.password }).then(function (r) {
          if (r.ok && r.data.access_token) { remember(r.data); choose(r.data); }
          else if (r.ok && r.data.mfa_required) say("Your account uses two-factor authentication: sign in on the security page first.", "error");
          else say(problem(r), "error");
        });
      });
    });
  };

  var name = document.body.getAttribute("data-page");
  // Invitation and install pages: "Continue with …" leaves for the provider and
  // comes back with a login code instead of the page's own token, which waits
  // in sessionStorage meanwhile.
  if (name === "invite" || name === "install") {
    if (loginCode) {
      var pending = null;
      try { pending = sessionStorage.getItem("latchkey.oauth_return"); sessionStorage.removeItem("latchkey.oauth_return"); } catch (e) { pending = null; }
      api("POST", "/v1/auth/oauth/complete", { login_code: loginCode }).then(function (r) {
        if (r.ok && r.data.access_token) { remember(r.data); history.replaceState(null, "", location.pathname + (pending ? "#token=" + pending : "")); location.reload(); }
        else if (r.ok && r.data.mfa_required) say("Your account uses two-factor authentication: sign in on the security page first, then open your link again.", "error");
        else say((r.data && oauthMessages[r.data.code]) || problem(r), "error");
      });
      return;
    }
    if (oauthError) say(oauthMessages[oauthError] || "Sign-in with the provider did not complete.", "error");
    var holder = document.getElementById(name === "invite" ? "auth" : "signin");
    var box = document.createElement("div");
    box.className = "oauth"; box.id = "oauth-buttons";
    box.addEventListener("click", function () { try { if (token) sessionStorage.setItem("latchkey.oauth_return", token); } catch (e) { /* storage off */ } });
    if (holder) { holder.appendChild(box); oauthButtons(box); }
  }
  var run = pages[name];
  if (run) run();
})();
