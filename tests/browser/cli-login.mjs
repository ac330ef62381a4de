// `latchkey login` approved in the console: a signed-out person opens the
// link the CLI printed (/device#user_code=…), signs in, comes back to the
// request, checks the code the CLI showed and approves.
// Usage: node cli-login.mjs <link> <email> <password> <client name> <user code> <screenshot>
// Prints "approved: <done text>".
import { walkthrough, screen, press } from "./lib.mjs";

const [link, email, password, clientName, userCode] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("cli");
  await page.goto(link);
  await page.waitForURL((u) => u.pathname === "/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await press(page, "Sign in");
  await page.getByRole("heading", { name: "Sign in a device", level: 1 }).waitFor();
  await page.locator("#device-client").filter({ hasText: clientName }).waitFor();
  await page.locator("#device-code-shown").filter({ hasText: userCode }).waitFor();
  await page.locator("#device-agent").filter({ hasText: "latchkey-client/" }).waitFor();
  await screen(page, "cli-login");
  await press(page, "Approve");
  const done = page.locator("#device-done");
  await done.filter({ hasText: "Approved" }).waitFor();
  return "approved: " + (await done.textContent()).trim();
});
