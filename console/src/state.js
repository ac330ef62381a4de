// What the sidebar shows, loaded once after sign-in and reloaded after a
// change that affects it (a new org, a workspace shared or revoked, …).
import { api, all } from "./api.js";
import { session } from "./session.js";

export const state = { me: null, orgs: [], workspaces: [], shared: [], loaded: false };
const listeners = new Set();

export function onNav(fn) {
  listeners.add(fn);
}

export async function loadNav() {
  const [me, orgs, ws] = await Promise.all([api("GET", "/v1/me"), all("/v1/orgs"), api("GET", "/v1/workspaces")]);
  state.me = me;
  session.setUser(me);
  state.orgs = orgs;
  state.workspaces = ws.data;
  state.shared = ws.shared_with_me;
  state.loaded = true;
  for (const fn of listeners) fn();
  return state;
}

export function clearNav() {
  Object.assign(state, { me: null, orgs: [], workspaces: [], shared: [], loaded: false });
}

export function org(id) {
  return state.orgs.find((o) => o.id === id) || null;
}

// Whether the signed-in person may do `permission` in an org or workspace:
// the Worker lists in each view what its policy table allows the caller
// there (`permissions`), so the console keeps no rules of its own and only
// shows and hides by it (the Worker still decides every request).
export function can(view, permission) {
  return Array.isArray(view?.permissions) && view.permissions.includes(permission);
}
