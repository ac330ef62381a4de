// Drives Debian's Chromium through the console's password reset: "Forgot
// your password?" from the sign-in screen, the emailed link (from the
// development mail sink), a new password, the same link refused when opened
// a second time, then a sign-in with the new password.
// Usage: node reset.mjs <base url> <email> <new password>
import { assertTokenGone, emailedLink, run, submit, waitForText } from "./lib.mjs";

const [base, email, password] = process.argv.slice(2);
await run(null, async (page) => {
  await page.goto(base + "/signin");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await submit(page, "#request", { email });
  await waitForText(page, "#lead", "on its way");
  const link = await emailedLink(base, email, "/reset-password");
  // Opened as from a mail client: a new load, not a change of the fragment.
  await page.goto("about:blank");
  await page.goto(link);
  await page.locator("#confirm").waitFor();
  assertTokenGone(page);
  await submit(page, "#confirm", { new_password: password });
  await waitForText(page, "#lead", "Your password is set");
  // The link works once: opened again, the screen says so before asking for anything.
  await page.goto("about:blank");
  await page.goto(link);
  await waitForText(page, "#lead", "already used");
  if (await page.locator("#confirm").count()) throw new Error("a spent link still offers the new-password form");
  await page.goto(base + "/signin");
  await submit(page, "#signin", { email, password });
  await page.locator("#sidebar").getByRole("button", { name: "Sign out", exact: true }).waitFor();
  return "reset done";
});
