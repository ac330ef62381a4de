// Seed flow 4 in the console: a customer grants the org access to their
// workspace (Access → Grant access, by the org's slug); the org's member sees
// it in the sidebar under "Shared With Me", opens it and sees what a grant
// admin may do (no billing, no deletion); the customer revokes the access
// and it disappears from the member's sidebar. Then the member leaves the org.
// Usage: node console-shared.mjs <base url> <customer email> <member email> <password> <workspace id> <org slug>
import { walkthrough, screen, signIn, press, confirmDialog } from "./lib.mjs";

const [base, customerEmail, memberEmail, password, ws, slug] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const customer = await person("customer");
  await signIn(customer, base, customerEmail, password);
  await customer.getByRole("heading", { name: "Welcome to Latchkey" }).waitFor();
  await customer.locator("#my-workspaces").getByRole("link", { name: "Storefront" }).click();
  await customer.getByRole("heading", { name: "Storefront", level: 1 }).waitFor();
  await customer.locator(".empty").filter({ hasText: "No organization has access" }).waitFor();
  await customer.fill("#grant input[name=org_slug]", "no-such-org");
  await press(customer, "Grant access", "#grant");
  await customer.locator("#grant .field-error").filter({ hasText: "No organization has this slug" }).waitFor();
  await customer.fill("#grant input[name=org_slug]", slug);
  await press(customer, "Grant access", "#grant");
  const grant = customer.getByRole("row").filter({ hasText: slug });
  await grant.waitFor();
  await screen(customer, "workspace");
  if (!customer.url().endsWith(`/workspaces/${ws}`)) throw new Error("not the workspace: " + customer.url());

  const member = await person("member");
  await signIn(member, base, memberEmail, password);
  await member.getByRole("heading", { name: "Team" }).waitFor();
  const shared = member.locator("#shared-with-me").getByRole("link", { name: /Storefront/ });
  await shared.filter({ hasText: "via Acme" }).waitFor();
  await shared.click();
  await member.getByRole("heading", { name: "Storefront", level: 1 }).waitFor();
  await member.locator("#via-org").filter({ hasText: "through Acme" }).waitFor();
  for (const ownerOnly of ["Billing", "Delete workspace", "Grant an organization access"]) {
    if (await member.getByRole("heading", { name: ownerOnly }).count()) throw new Error(`a grant admin sees "${ownerOnly}"`);
  }
  await screen(member, "shared-workspace");

  await customer.getByRole("button", { name: "Revoke Acme's access" }).click();
  await confirmDialog(customer, "Revoke");
  await customer.locator(".empty").filter({ hasText: "No organization has access" }).waitFor();

  // The member's next visit finds it gone, and the sidebar follows.
  await member.reload();
  await member.getByRole("heading", { name: "Not found", level: 1 }).waitFor();
  await member.locator("#sidebar").getByRole("link", { name: "Team" }).click();
  await member.getByRole("heading", { name: "Team" }).waitFor();
  await member.locator("#shared-with-me").waitFor({ state: "detached" });
  await member.locator("#shared-empty").waitFor();

  // Notification channels are for admins and owners: a member is told so.
  await member.locator("#sidebar").getByRole("link", { name: "Notification channels" }).click();
  await member.getByRole("heading", { name: "Notification channels", level: 1 }).waitFor();
  await member.locator(".empty").filter({ hasText: "Only admins and owners manage notification channels" }).waitFor();
  if (await member.locator("#create-channel").count()) throw new Error("a member is offered Add channel");
  await member.locator("#sidebar").getByRole("link", { name: "Team" }).click();
  await member.getByRole("heading", { name: "Team" }).waitFor();

  // The member leaves the org (Team → Leave, confirmed) and has none left.
  await member.getByRole("button", { name: "Leave", exact: true }).click();
  await confirmDialog(member, "Leave");
  await member.getByRole("heading", { name: "Welcome to Latchkey" }).waitFor();
  if (await member.locator("#org-switch").count()) throw new Error("the org is still in the switcher");
  return "shared, seen, revoked, gone; left";
});
