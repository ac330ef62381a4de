// Latchkey pages: read the token from the URL fragment (never sent to a
// server), remove it from the address bar, and talk to the JSON API.
(function () {
  "use strict";
  var fragment = new URLSearchParams(location.hash.slice(1));
  var token = fragment.get("token");
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
  function formValues(form) { var out = {}; new FormData(form).forEach(function (v, k) { out[k] = v; }); return out; }

  var pages = {
    "verify-email": function () {
      var lead = document.getElementById("lead");
      if (!token) { lead.textContent = "This link is incomplete. Open the link from your email again."; return; }
      api("POST", "/v1/auth/verify-email", { token: token }).then(function (res) {
        if (res.ok) {
          remember(res.data);
          lead.textContent = "Your email " + res.data.user.email + " is verified. You are signed in.";
          say("Verified", "ok");
        } else if (res.data && res.data.code === "invalid_token") {
          lead.textContent = "This link has expired or was already used. Sign in, or ask for a new verification email.";
          say("Link no longer valid", "error");
        } else { lead.textContent = ""; say(problem(res), "error"); }
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
  var run = pages[document.body.getAttribute("data-page")];
  if (run) run();
})();
