// What every browser scenario shares: Debian's Chromium launched headless by
// playwright-core, one page that records script errors, the screenshot, and
// the exit status the Rust test reads (tests/support: `browser`).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { mkdirSync, readFileSync } from "node:fs";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const TIMEOUT = 10000;

// Runs `scenario(page)` in a fresh browser; what it returns is printed on
// success. Page errors fail the run; so does anything the scenario throws
// (the message goes to stderr, the exit status is 1). A screenshot of the
// final page goes to `shot` when given.
export async function run(shot, scenario) {
  await inBrowser(async (browser, errors) => {
    const page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    const said = await scenario(page);
    if (shot && !errors.length) await page.screenshot({ path: shot });
    return said;
  });
}

// Launches Chromium, runs `body(browser, errors)` and prints what it returns.
// Errors the pages recorded in `errors`, or anything `body` throws, fail the
// run: the message (with its stack) goes to stderr and the exit status is 1.
async function inBrowser(body) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS });
  const errors = [];
  let failed = null;
  try {
    const said = await body(browser, errors);
    if (errors.length) throw new Error("page errors: " + errors.join("; "));
    console.log(said);
  } catch (e) {
    failed = e;
  } finally {
    await browser.close();
    stdin?.close();
  }
  if (failed) {
    console.error(String(failed && failed.stack ? failed.stack : failed));
    process.exit(1);
  }
}

// Waits until `selector` shows `text` (a string or a RegExp).
export async function waitForText(page, selector, text) {
  await page.locator(selector).filter({ hasText: text }).waitFor({ timeout: TIMEOUT });
}

// Waits until `selector` is visible.
export async function waitVisible(page, selector) {
  await page.locator(selector).waitFor({ state: "visible", timeout: TIMEOUT });
}

// Fills `form`'s fields ({name: value}) and submits it with its button.
export async function submit(page, form, fields) {
  for (const [name, value] of Object.entries(fields)) await page.fill(`${form} input[name=${name}]`, value);
  await page.click(`${form} button`);
}

// A page opened from an emailed link must drop the token from the address bar.
export function assertTokenGone(page) {
  if (page.url().includes("token=")) throw new Error("the token stayed in the address bar");
}

// Asks the test that started this script: prints `question` on a line of
// its own and resolves to the next line of standard input.
let stdin = null;
export async function ask(question) {
  stdin ??= createInterface({ input: process.stdin });
  const answer = new Promise((resolve, reject) => {
    stdin.once("line", resolve);
    stdin.once("close", () => reject(new Error("no answer to " + question)));
  });
  console.log(question);
  return (await answer).trim();
}

// ---------------------------------------------------------------------------
// The console's walkthroughs (console-*.mjs): one browser, a context per
// person, an accessibility check and a screenshot of every screen.
// ---------------------------------------------------------------------------

// Where the console's screenshots go (the Rust test sets it under target/).
const SHOTS = process.env.CONSOLE_SHOTS || "target/console-screens";
let axeSource = null;

// Runs `scenario({ person, base })` in one browser. `person(name)` opens a
// fresh browser context (its own cookies: a separate person) and its page,
// with clipboard access and script errors recorded. Failing scenarios exit 1.
export async function walkthrough(scenario) {
  await inBrowser(async (browser, errors) => {
    const person = async (name, viewport = { width: 1280, height: 860 }) => {
      const context = await browser.newContext({ viewport });
      await context.grantPermissions(["clipboard-read", "clipboard-write"]);
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (e) => errors.push(`${name}: ${e}`));
      page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && errors.push(`${name} console: ${m.text()}`));
      return page;
    };
    return scenario({ person });
  });
}

// axe-core on the page as it is now: any serious or critical violation fails
// the run. Then a full-page screenshot `{name}.png`. axe is evaluated through
// the DevTools protocol, so the console's CSP stays as strict as in use.
export async function screen(page, name) {
  if (axeSource === null) {
    mkdirSync(SHOTS, { recursive: true });
    axeSource = readFileSync(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
  }
  await page.waitForLoadState("networkidle").catch(() => {});
  await page.evaluate(axeSource);
  const bad = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  if (bad.length) throw new Error(`accessibility violations on ${name}: ${bad.join("; ")}`);
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  screens.push(name);
}
export const screens = [];

// The newest link to `path` (…#token=…) emailed to `to`, from the
// development mail sink, waiting for the `n`th email.
export async function emailedLink(base, to, path, n = 1) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const r = await fetch(`${base}/v1/dev/emails?to=${encodeURIComponent(to)}`);
    const list = r.ok ? (await r.json()).data : [];
    if (list.length >= n) {
      for (const mail of [...list].reverse()) {
        const m = new RegExp(`https?://[^\\s]+${path}#token=[\\w.~-]+`).exec(mail.text || "");
        if (m) return base + path + m[0].slice(m[0].indexOf("#"));
      }
    }
    if (Date.now() > deadline) throw new Error(`no email to ${to} linking to ${path}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Signs in on the console's sign-in screen; lands wherever it sends.
export async function signIn(page, base, email, password) {
  await page.goto(base + "/signin");
  await page.fill("#signin input[name=email]", email);
  await page.fill("#signin input[name=password]", password);
  await page.click("#signin button[type=submit]");
}

// Clicks a button by its visible name (exact), optionally within `scope`.
export async function press(page, name, scope = null) {
  const root = scope ? page.locator(scope) : page;
  await root.getByRole("button", { name, exact: true }).first().click();
}

// Waits for a toast saying `text` (a string or a RegExp); resolves to its text.
export async function toastSays(page, text) {
  const t = page.locator("#toasts .toast").filter({ hasText: text }).first();
  await t.waitFor({ timeout: TIMEOUT });
  return (await t.textContent()).trim();
}

// Answers the open confirm dialog with its `name` button.
export async function confirmDialog(page, name) {
  const dialog = page.locator("dialog[open]");
  await dialog.waitFor();
  await dialog.getByRole("button", { name, exact: true }).click();
  await dialog.waitFor({ state: "detached" });
}

// No session material anywhere JavaScript can read.
export async function assertNoStoredToken(page) {
  const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
  if (/eyJ|lk_|refresh|access_token/.test(stored)) throw new Error("a token is readable by scripts: " + stored);
}
