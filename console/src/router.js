// A small History API router: routes are path patterns with :params; links
// to same-origin paths are followed without a reload.
const routes = [];
let render = null;

// route("/orgs/:org/team", screenFn, { bare: true, public: true })
//   bare:   no sidebar (sign-in, email links)
//   public: reachable signed out
export function route(pattern, view, opts = {}) {
  const names = [];
  const re = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, n) => (names.push(n), "([^/]+)")) + "/?$");
  routes.push({ re, names, view, ...opts });
}

export function match(path) {
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      return { ...r, params };
    }
  }
  return null;
}

export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  return render && render();
}

export function start(fn) {
  render = fn;
  addEventListener("popstate", () => render());
  document.addEventListener("click", (ev) => {
    const a = ev.target instanceof Element ? /** @type {HTMLAnchorElement | null} */ (ev.target.closest("a[href]")) : null;
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    if (a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/v1/") || !match(url.pathname)) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}

// Reads `#token=…`-style values from the fragment once and removes the
// fragment from the address bar (links in emails carry secrets there).
export function takeFragment() {
  const values = new URLSearchParams(location.hash.slice(1));
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  return values;
}
