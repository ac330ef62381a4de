// Platform administration in the console: an administrator signs in with
// their second factor, opens Platform → Administration, finds a person by
// address (their orgs and roles show), and suspends the account with a
// fresh code; the platform audit log shows it. Every screen gets an axe
// check and a screenshot. Each "code" asked is a fresh TOTP code.
// Usage: node admin.mjs <base url> <admin email> <password> <person email> <their org name>
// Prints "admin: suspended <person email>".
import { walkthrough, screen, signIn, press, ask, toastSays } from "./lib.mjs";

const [base, adminEmail, password, personEmail, orgName] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("administrator");
  await signIn(page, base, adminEmail, password);
  await page.locator("#mfa").waitFor();
  await page.fill("#mfa input[name=code]", await ask("code"));
  await press(page, "Verify");
  await page.locator("#sidebar").getByRole("link", { name: "Administration" }).click();
  await page.getByRole("heading", { name: "Platform administration" }).waitFor();
  await page.fill("#admin-lookup input[name=email]", personEmail);
  await page.fill("#admin-lookup input[name=code]", await ask("code"));
  await press(page, "Find");
  const found = page.locator("#admin-person");
  await found.getByRole("table", { name: "Organizations and roles" }).getByText(orgName).waitFor();
  await screen(page, "admin-person");
  await page.fill("#admin-act input[name=reason]", "Reported compromised");
  await page.fill("#admin-act input[name=code]", await ask("code"));
  await press(page, "Apply");
  await toastSays(page, `${personEmail}: suspended`);
  await found.getByText("Suspended").waitFor();
  await page.getByRole("table", { name: "Platform audit log" }).getByText("user.suspended").waitFor();
  await screen(page, "admin-suspended");
  return `admin: suspended ${personEmail}`;
});
