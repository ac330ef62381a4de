// Drives Debian's Chromium through /settings/security: sign in, start
// enrolment, read the secret shown on the page, ask the test for the current
// code (RFC 6238, computed by tests/support/totp.rs), confirm, and see the 10
// recovery codes.
// Usage: node security.mjs <page url> <email> <password> <screenshot.png>
// Prints "totp secret: <base32>" and reads the code from standard input.
import { ask, run, submit, waitForText, waitVisible } from "./lib.mjs";

const [url, email, password, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(url);
  await submit(page, "#signin", { email, password });
  await waitForText(page, "#lead", "is off");
  await page.click("#start");
  await waitForText(page, "#secret", /[A-Z2-7]{32}/);
  const secret = (await page.textContent("#secret")).trim();
  const qr = await page.getAttribute("#qr", "src");
  if (!qr || !qr.startsWith("data:image/svg+xml;base64,")) throw new Error("no QR image: " + qr);
  await submit(page, "#confirm", { code: await ask("totp secret: " + secret) });
  await waitVisible(page, "#codes");
  const codes = (await page.textContent("#code-list")).trim().split("\n");
  const href = await page.getAttribute("#download", "href");
  if (!href || !href.startsWith("data:text/plain")) throw new Error("no download link");
  return "recovery codes: " + codes.length;
});
