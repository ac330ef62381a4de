// Organization Settings → Domains: the owner adds a domain, copies its TXT
// record (the test publishes it at the fake resolver), verifies it, has it
// suggest the organization, and a person on the domain sees "Organizations
// you can join" after signing in. Then the owner removes the domain.
// Usage: node console-domains.mjs <base url> <owner email> <password> <org id> <suggested person email>
import { walkthrough, screen, signIn, press, toastSays, confirmDialog, ask } from "./lib.mjs";

const [base, email, password, org, person] = process.argv.slice(2);

await walkthrough(async ({ person: open }) => {
  const page = await open("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Domains" }).click();
  await page.getByRole("heading", { name: "Domains", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/domains`)) throw new Error("not the org's domains: " + page.url());
  await page.locator(".empty").filter({ hasText: "No domains yet" }).waitFor();

  // A public email domain is refused where it was typed.
  await page.fill("#add-domain input[name=domain]", "gmail.com");
  await press(page, "Add domain");
  await page.locator("#add-domain .form-error").filter({ hasText: "public email domain" }).waitFor();

  await page.fill("#add-domain input[name=domain]", "Acme.Test");
  await press(page, "Add domain");
  await toastSays(page, "acme.test added");
  const card = page.locator("#record-acme\\.test");
  await card.waitFor();
  const name = (await card.locator(".txt-name").textContent()).trim();
  const value = (await card.locator(".txt-value").textContent()).trim();
  if (name !== "_latchkey-verification.acme.test") throw new Error("record name: " + name);
  // The copy button puts the value on the clipboard.
  await card.getByRole("button", { name: "Copy value" }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== value) throw new Error(`copied ${copied}, shown ${value}`);
  await screen(page, "domains-pending");

  // Not published yet: the API's answer says so.
  await press(page, "Verify");
  await toastSays(page, "no TXT record");
  if ((await ask(`publish: ${name} ${value}`)) !== "published") throw new Error("not published");
  await press(page, "Verify");
  await toastSays(page, "acme.test verified");
  await page.locator("#domain-list .badge").filter({ hasText: "Verified" }).waitFor();

  // Suggest the organization to people on the domain.
  await page.selectOption("#domain-list select[name=enrollment]", "suggest");
  await press(page, "Save", "#domain-list");
  await toastSays(page, "acme.test saved");
  await screen(page, "domains-verified");

  const them = await open("person");
  await signIn(them, base, person, password);
  await them.getByRole("heading", { name: "Welcome to Latchkey" }).waitFor();
  await them.locator("#suggested-orgs li").filter({ hasText: "Acme" }).waitFor();
  await screen(them, "suggested-orgs");

  await press(page, "Remove", "#domain-list");
  await confirmDialog(page, "Remove");
  await toastSays(page, "acme.test removed");
  await page.locator(".empty").filter({ hasText: "No domains yet" }).waitFor();
  return "domains done";
});
