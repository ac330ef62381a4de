// Drives Debian's Chromium through /verify-email: the page asks for the
// password chosen at sign-up; a wrong one is refused and changes nothing,
// the right one verifies and signs in.
// Usage: node verify.mjs <verify url with #token=...> <wrong password> <password> <screenshot.png>
import { chromium } from "playwright-core";

const [url, wrong, password, shot] = process.argv.slice(2);
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
  await page.locator("#verify").waitFor({ state: "visible", timeout: 10000 });
  if (page.url().includes("token=")) throw new Error("the token stayed in the address bar");
  await page.fill("#verify input[name=password]", wrong);
  await page.click("#verify button");
  await page.locator("#status").filter({ hasText: "not the password" }).waitFor({ timeout: 10000 });
  await page.fill("#verify input[name=password]", password);
  await page.click("#verify button");
  const lead = page.locator("#lead");
  await lead.filter({ hasText: "is verified" }).waitFor({ timeout: 10000 });
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
