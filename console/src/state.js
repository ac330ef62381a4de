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

// Role order: owner > admin > member.
const rank = { owner: 3, admin: 2, member: 1 };
export function atLeast(role, min) {
  return (rank[role] || 0) >= rank[min];
}
