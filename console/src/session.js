// The browser session (docs/console.md, "The console's session").
// The access token lives in this module's memory only: never in localStorage,
// sessionStorage or a readable cookie. The refresh token is an HttpOnly,
// SameSite=Strict cookie the Worker sets and reads on POST /v1/auth/token and
// /v1/auth/logout only, in "browser" mode (header X-Latchkey-Client: browser;
// the browser adds Origin, which the Worker checks against its own).
// A reload asks /v1/auth/token for a fresh access token with that cookie.
// Refreshes are serialised across tabs with navigator.locks: the cookie
// rotates on every refresh, and two tabs presenting the same one at once would
// look like a stolen token being replayed (the Worker then ends the session).
import { api } from "./api.js";

let access = null; // { token, expiresAt }
let user = null;
let timer = null;
let inflight = null;
const listeners = new Set();
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("latchkey-session") : null;

function notify() {
  for (const fn of listeners) fn(user);
}

function adopt(data) {
  access = { token: data.access_token, expiresAt: Date.now() + (data.expires_in || 900) * 1000 };
  user = data.user || user;
  clearTimeout(timer);
  // Refresh a minute before expiry, so requests rarely meet a 401.
  const wait = Math.max(10, (data.expires_in || 900) - 60) * 1000;
  timer = setTimeout(() => session.refresh(), wait);
  notify();
}

function drop() {
  access = null;
  user = null;
  clearTimeout(timer);
  notify();
}

async function withLock(fn) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request("latchkey-refresh", fn);
  return fn();
}

export const session = {
  accessToken: () => (access ? access.token : null),
  user: () => user,
  signedIn: () => access !== null,
  onChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  // A session answer from login, login/mfa, verify-email, oauth/complete or
  // an invitation sign-up: keep the access token; ignore any refresh_token in
  // the body (cookie mode leaves it out; a body copy is never stored).
  start(data) {
    adopt(data);
    channel && channel.postMessage("signed-in");
  },
  setUser(u) {
    user = u;
    notify();
  },
  // Exchanges the refresh cookie for a new access token. One at a time per
  // tab (inflight) and across tabs (the lock). Resolves to true when signed in.
  refresh() {
    inflight ??= withLock(async () => {
      try {
        const data = await api("POST", "/v1/auth/token", undefined, { auth: false, browser: true });
        adopt(data);
        return true;
      } catch (e) {
        // A dead cookie (401) ends the session here too; a failure of ours or
        // of the network leaves things as they were (the next call retries).
        if (e.status === 401 || e.status === 403) drop();
        return false;
      }
    }).finally(() => {
      inflight = null;
    });
    return inflight;
  },
  // An authenticated call met a 401 that a refresh did not cure.
  expired() {
    if (access) drop();
  },
  // Ends the session on the server (cookie and access token), then here and
  // in the other tabs.
  async signOut() {
    try {
      await api("POST", "/v1/auth/logout", undefined, { browser: true });
    } catch {
      // Already gone on the server: forget it here all the same.
    }
    drop();
    channel && channel.postMessage("signed-out");
  },
};

if (channel) {
  channel.onmessage = (ev) => {
    if (ev.data === "signed-out") drop();
    // Another tab signed in: pick the session up through the shared cookie.
    if (ev.data === "signed-in" && !access) session.refresh();
  };
}
