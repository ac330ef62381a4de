// Drives Debian's Chromium through "Continue with GitHub": the page lists the
// configured providers, the fake GitHub's approval page sends the browser
// back through the Worker's callback, and the page exchanges the login code
// from the fragment for a session.
// Usage: node oauth.mjs <page url> <expected email> <screenshot.png> [install]
// With "install", the page is an install link (/install#token=…): its token
// must survive the round trip through the provider, then the person approves.
import { chromium } from "playwright-core";

const [url, email, shot, mode] = process.argv.slice(2);

async function approveAtGitHub(page) {
  await page.click("#continue-github", { timeout: 10000 });
  await page.locator("#approve").waitFor({ timeout: 10000 });
  if (!page.url().includes("/github/login/oauth/authorize")) throw new Error("not at the provider: " + page.url());
  await page.click("#approve");
}

async function signIn(page) {
  await page.goto(url);
  await approveAtGitHub(page);
  // Back on the sign-in page, signed in.
  await page.locator("#lead").filter({ hasText: email }).waitFor({ timeout: 15000 });
  if (page.url().includes("login_code")) throw new Error("the login code stayed in the address bar: " + page.url());
  await page.locator("#identity-list").filter({ hasText: "github" }).waitFor({ timeout: 10000 });
  // Signed in, with nothing a script could steal: the access token lives in
  // the console's memory, the refresh token in an HttpOnly cookie.
  const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
  if (/eyJ|refresh|access_token/.test(stored)) throw new Error("a token is readable by scripts: " + stored);
  const lead = await page.textContent("#lead");
  return "signed in as " + lead.match(/for (\S+)\.$/)[1];
}

async function install(page) {
  await page.goto(url);
  const lead = page.locator("#lead");
  await lead.filter({ hasText: "asks for admin access" }).waitFor({ timeout: 10000 });
  await approveAtGitHub(page);
  // Back on the install page, signed in, the link's token restored.
  await page.locator("#approve").waitFor({ state: "visible", timeout: 15000 });
  await page.click("#approve button");
  await lead.filter({ hasText: "now has admin access" }).waitFor({ timeout: 10000 });
  if (/token=|login_code/.test(page.url())) throw new Error("a secret stayed in the address bar: " + page.url());
  return "ok: " + (await lead.textContent());
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = null;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const said = mode === "install" ? await install(page) : await signIn(page);
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  if (shot) await page.screenshot({ path: shot });
  console.log(said);
} catch (e) {
  failed = e;
} finally {
  await browser.close();
}
if (failed) {
  console.error(String(failed));
  process.exit(1);
}
