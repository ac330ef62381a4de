// Drives Debian's Chromium through /settings/security: sign in, start
// enrolment, read the secret shown on the page, compute the current code
// (RFC 6238, here in the test), confirm, and see the 10 recovery codes.
// Usage: node security.mjs <page url> <email> <password> <screenshot.png>
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";

const [url, email, password, shot] = process.argv.slice(2);

function totp(base32, at) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const h = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const o = h[19] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1000000).padStart(6, "0");
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
  await page.goto(url);
  await page.fill("#signin input[name=email]", email);
  await page.fill("#signin input[name=password]", password);
  await page.click("#signin button");
  await page.locator("#lead").filter({ hasText: "is off" }).waitFor({ timeout: 10000 });
  await page.click("#start");
  await page.locator("#secret").filter({ hasText: /[A-Z2-7]{32}/ }).waitFor({ timeout: 10000 });
  const secret = (await page.textContent("#secret")).trim();
  const qr = await page.getAttribute("#qr", "src");
  if (!qr || !qr.startsWith("data:image/svg+xml;base64,")) throw new Error("no QR image: " + qr);
  await page.fill("#confirm input[name=code]", totp(secret, Date.now() / 1000));
  await page.click("#confirm button");
  await page.locator("#codes").waitFor({ state: "visible", timeout: 10000 });
  const codes = (await page.textContent("#code-list")).trim().split("\n");
  const href = await page.getAttribute("#download", "href");
  if (!href || !href.startsWith("data:text/plain")) throw new Error("no download link");
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  if (shot) await page.screenshot({ path: shot });
  console.log("recovery codes: " + codes.length);
} catch (e) {
  failed = e;
} finally {
  await browser.close();
}
if (failed) {
  console.error(String(failed));
  process.exit(1);
}
