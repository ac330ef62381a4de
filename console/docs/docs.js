// The API reference (/docs): Swagger UI over /openapi.json, same origin.
// "Try it out" sends the signed-in person's access token: like the console
// on load (console/src/session.js), this page exchanges the HttpOnly refresh
// cookie at POST /v1/auth/token in browser mode (X-Latchkey-Client: browser;
// the browser adds Origin) and keeps the access token in this module's
// memory only, never in storage or the address bar. The refresh is taken
// under the console's own lock: the cookie rotates on every refresh, and two
// tabs presenting the same one at once would look like a replay. Signed out,
// or to act as a key, paste an API key or token with Authorize: a value
// entered there wins over the session's, and Swagger UI keeps it in memory
// (persistAuthorization stays off).
let access = null; // { token, expiresAt }
let timer = null;
const status = document.getElementById("credential");

function say(text) {
  status.textContent = text;
}

async function withLock(fn) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request("latchkey-refresh", fn);
  return fn();
}

// Resolves to the session's user, or null when there is no session.
async function refresh() {
  return withLock(async () => {
    let res;
    try {
      res = await fetch("/v1/auth/token", {
        method: "POST",
        headers: { accept: "application/json", "x-latchkey-client": "browser" },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      return null;
    }
    if (!res.ok) {
      access = null;
      return null;
    }
    const data = await res.json();
    const life = data.expires_in || 900;
    access = { token: data.access_token, expiresAt: Date.now() + life * 1000 };
    clearTimeout(timer);
    // A minute before expiry, as the console does.
    timer = setTimeout(() => refresh().then(show), Math.max(10, life - 60) * 1000);
    return data.user || null;
  });
}

function show(user) {
  if (access) {
    const who = user && user.email ? ` as ${user.email}` : "";
    say(`Signed in${who}: "Try it out" sends your session. Authorize takes an API key instead.`);
  } else {
    say('Not signed in: sign in to the console first, or paste an API key (lk_…) or an access token with Authorize, then "Try it out".');
  }
}

// Adds the session's token to a same-origin request that carries no
// Authorization of its own (one pasted into Authorize wins).
function withSession(req) {
  const url = new URL(req.url, location.href);
  if (url.origin !== location.origin || !access) return req;
  const has = Object.keys(req.headers || {}).some((k) => k.toLowerCase() === "authorization");
  if (!has) req.headers = { ...req.headers, Authorization: `Bearer ${access.token}` };
  return req;
}

// What Swagger UI leaves out for keyboard and screen-reader users (axe):
// a name for the request-body editor, and keyboard access to the code blocks
// that scroll (the curl command, example and response bodies). Swagger UI
// re-renders often, so this runs on every change under the reference.
function patchAccessibility(root) {
  for (const t of root.querySelectorAll("textarea:not([aria-label])")) {
    t.setAttribute("aria-label", t.classList.contains("body-param__text") ? "Request body" : "Value");
  }
  for (const c of root.querySelectorAll(".microlight:not([tabindex]), .curl:not([tabindex])")) {
    c.setAttribute("tabindex", "0");
  }
}

function start() {
  const root = document.getElementById("reference");
  new MutationObserver(() => patchAccessibility(root)).observe(root, { childList: true, subtree: true });
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    // Deep links put a link inside each operation's toggle button, which
    // nests one control in another (axe, nested-interactive).
    deepLinking: false,
    displayOperationId: false,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    filter: true,
    persistAuthorization: false,
    // Never ask a validator elsewhere about this document.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: withSession,
  });
}

refresh().then(show);
// The bundle is a deferred classic script: it has run before this module.
if (window.SwaggerUIBundle) start();
else addEventListener("load", start);
