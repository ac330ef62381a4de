// Seed flow 3 in the console: Account Settings → Security → Enable 2FA with
// the secret shown beside the QR code, confirm with a code, keep the recovery
// codes; sign out (the session ends on the server); sign in again with a code.
// Usage: node console-2fa.mjs <base url> <email> <password>
// Asks "totp secret: <base32>" for the current code, then "next code" for
// a code of the following step (a code is accepted once), then "fresh code"
// for one newer than that.
import { walkthrough, screen, signIn, press, ask, assertNoStoredToken } from "./lib.mjs";

const [base, email, password] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  // In development the console signs in at localhost as at 127.0.0.1 (both
  // name this machine on the port `make dev` serves); the origin check stays
  // exact elsewhere (tests/e2e_browser_sessions.rs, domain::browser).
  await signIn(page, base.replace("127.0.0.1", "localhost"), email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Security" }).click();
  await page.getByRole("heading", { name: "Security", level: 1 }).waitFor();
  await page.locator("#lead").filter({ hasText: "is off" }).waitFor();
  await screen(page, "security");
  await press(page, "Enable 2FA");
  await page.locator("#secret").filter({ hasText: /[A-Z2-7]{32}/ }).waitFor();
  const qr = await page.getAttribute("#qr", "src");
  if (!qr || !qr.startsWith("data:image/svg+xml;base64,")) throw new Error("no QR image: " + qr);
  await screen(page, "enable-2fa");
  const secret = (await page.textContent("#secret")).trim();
  await page.fill("#confirm input[name=code]", await ask("totp secret: " + secret));
  await press(page, "Turn on");
  await page.locator("#code-list").waitFor();
  const codes = (await page.textContent("#code-list")).trim().split("\n");
  if (codes.length !== 10) throw new Error("recovery codes: " + codes.length);
  const href = await page.getAttribute("#download", "href");
  if (!href || !href.startsWith("data:text/plain")) throw new Error("no download link");
  await screen(page, "recovery-codes");

  // Sign out ends the session on the server: the refresh cookie is gone
  // with it, so a reload stays signed out.
  await page.locator("#sidebar").getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to Latchkey" }).waitFor();
  await page.goto(base + "/settings/security");
  await page.locator("#signin").waitFor();

  await signIn(page, base, email, password);
  await page.locator("#mfa").waitFor();
  await screen(page, "sign-in-2fa");
  await page.fill("#mfa input[name=code]", await ask("next code"));
  await press(page, "Verify");
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Security" }).click();
  await page.locator("#lead").filter({ hasText: "is on" }).waitFor();
  await page.getByRole("button", { name: "Sign out everywhere" }).waitFor();
  await screen(page, "security-2fa-on");
  await assertNoStoredToken(page);

  // New recovery codes (with a fresh code): the old ones die.
  await page.fill("#regenerate input[name=code]", await ask("fresh code"));
  await press(page, "Regenerate recovery codes");
  await page.locator("#code-list").waitFor();
  const fresh = (await page.textContent("#code-list")).trim().split("\n");
  if (fresh.length !== 10 || fresh.some((c) => codes.includes(c))) throw new Error("recovery codes not renewed: " + fresh);
  return "2fa on; signed in with a code; codes renewed";
});
