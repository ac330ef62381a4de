// A CLI's device sign-in (RFC 8628) approved in the console: a signed-out
// person opens the link the CLI printed (/device#user_code=…), is sent to
// sign in and comes back to the request, sees the client, its address and
// user agent with the warning, and approves. Then a second request whose
// code is typed (lower case, with spaces) is denied. Every screen gets an
// axe check and a screenshot.
// Usage: node device.mjs <base url> <verification_uri_complete> <email> <password> <client name> <typed code>
// Prints "approved: <done text>" and "denied: <done text>".
import { walkthrough, screen, press } from "./lib.mjs";

const [base, link, email, password, clientName, typed] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("ada");
  await page.goto(link);
  // Signed out: the sign-in screen, which comes back to /device.
  await page.waitForURL((u) => u.pathname === "/signin");
  if (page.url().includes("user_code")) throw new Error("the code stayed in the address bar: " + page.url());
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await press(page, "Sign in");
  await page.getByRole("heading", { name: "Sign in a device", level: 1 }).waitFor();
  await page.waitForURL((u) => u.pathname === "/device");
  const client = page.locator("#device-client");
  await client.filter({ hasText: clientName }).waitFor();
  await page.locator("#device-agent").filter({ hasText: "latchkey-e2e" }).waitFor();
  await page.getByRole("note").filter({ hasText: "Only approve if you started this sign-in" }).waitFor();
  await screen(page, "device-request");
  await press(page, "Approve");
  const done = page.locator("#device-done");
  await done.filter({ hasText: "Approved" }).waitFor();
  await screen(page, "device-approved");
  const approved = "approved: " + (await done.textContent()).trim();

  // Typed, signed in: the code field, then Deny.
  await page.goto(base + "/device");
  await page.getByRole("heading", { name: "Sign in a device", level: 1 }).waitFor();
  await page.getByLabel("Code").fill(typed);
  await press(page, "Continue");
  await page.locator("#device-client").waitFor();
  const letters = typed.replace(/[\s-]/g, "").toUpperCase();
  await page.locator("#device-code-shown").filter({ hasText: `${letters.slice(0, 4)}-${letters.slice(4)}` }).waitFor();
  await press(page, "Deny");
  await done.filter({ hasText: "Denied" }).waitFor();
  await screen(page, "device-denied");
  return approved + "\ndenied: " + (await done.textContent()).trim();
});
