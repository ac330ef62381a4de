// Drives Debian's Chromium through "Continue with GitHub": the sign-in page
// lists the configured providers, the fake GitHub's approval page sends the
// browser back through the Worker's callback, and the page exchanges the
// login code from the fragment for a session.
// Usage: node oauth.mjs <page url> <expected email> <screenshot.png>
import { chromium } from "playwright-core";

const [url, email, shot] = process.argv.slice(2);

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
  await page.goto(url);
  await page.click("#continue-github", { timeout: 10000 });
  // At the provider.
  await page.locator("#approve").waitFor({ timeout: 10000 });
  if (!page.url().includes("/github/login/oauth/authorize")) throw new Error("not at the provider: " + page.url());
  await page.click("#approve");
  // Back on the sign-in page, signed in.
  await page.locator("#lead").filter({ hasText: email }).waitFor({ timeout: 15000 });
  if (page.url().includes("login_code")) throw new Error("the login code stayed in the address bar: " + page.url());
  await page.locator("#identity-list").filter({ hasText: "github" }).waitFor({ timeout: 10000 });
  const session = await page.evaluate(() => sessionStorage.getItem("latchkey.session"));
  if (!session || !JSON.parse(session).access_token) throw new Error("no session");
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  if (shot) await page.screenshot({ path: shot });
  console.log("signed in as " + JSON.parse(session).user.email);
} catch (e) {
  failed = e;
} finally {
  await browser.close();
}
if (failed) {
  console.error(String(failed));
  process.exit(1);
}
