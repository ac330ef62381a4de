// Drives Debian's Chromium through /install: the customer signs in, picks
// their workspace and approves the organization's access.
// Usage: node install.mjs <install url with #token=...> <email> <password> <screenshot.png>
import { chromium } from "playwright-core";

const [url, email, password, shot] = process.argv.slice(2);
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
  const lead = page.locator("#lead");
  await lead.filter({ hasText: "asks for admin access" }).waitFor({ timeout: 10000 });
  if (page.url().includes("token=")) throw new Error("the token stayed in the address bar");
  await page.fill("#signin input[name=email]", email);
  await page.fill("#signin input[name=password]", password);
  await page.click("#signin button");
  await page.locator("#approve").waitFor({ state: "visible", timeout: 10000 });
  await page.click("#approve button");
  await lead.filter({ hasText: "now has admin access" }).waitFor({ timeout: 10000 });
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  if (shot) await page.screenshot({ path: shot });
  console.log("ok: " + (await lead.textContent()));
} catch (e) {
  failed = e;
} finally {
  await browser.close();
}
if (failed) {
  console.error(String(failed));
  process.exit(1);
}
