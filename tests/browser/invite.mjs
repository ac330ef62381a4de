// Drives Debian's Chromium through the /invite page like a person would.
// Usage: node invite.mjs <invite url with #token=...> <scenario> <screenshot.png>
//   scenario "signup":  sees the org and role, creates an account, joins.
//   scenario "revoked": sees that the invitation was revoked.
// Exits non-zero with a message when the page does not behave.
import { chromium } from "playwright-core";

const [url, scenario, shot] = process.argv.slice(2);
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
  if (scenario === "signup") {
    await lead.filter({ hasText: "invited" }).waitFor({ timeout: 10000 });
    const text = await lead.textContent();
    if (!/Acme/.test(text) || !/as member/.test(text)) throw new Error("preview text: " + text);
    if (page.url().includes("token=")) throw new Error("the token stayed in the address bar");
    await page.fill("#signup input[name=name]", "Browser Person");
    await page.fill("#signup input[name=password]", "correct horse battery staple");
    await page.click("#signup button");
    await lead.filter({ hasText: "You joined" }).waitFor({ timeout: 10000 });
  } else if (scenario === "revoked") {
    await lead.filter({ hasText: "revoked" }).waitFor({ timeout: 10000 });
  } else {
    throw new Error("unknown scenario " + scenario);
  }
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
