// Organization Settings → Roles: the owner sees the built-in roles
// (read-only), creates a custom role from the permission catalog's
// checkboxes, has a bad key refused where it was typed, edits the role,
// tries to delete it while a member holds it (role_in_use, shown as is),
// and deletes it once nobody does.
// Usage: node console-roles.mjs <base url> <owner email> <password> <org id>
import { walkthrough, screen, signIn, press, toastSays, confirmDialog, ask } from "./lib.mjs";

const [base, email, password, org] = process.argv.slice(2);

await walkthrough(async ({ person: open }) => {
  const page = await open("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Roles" }).click();
  await page.getByRole("heading", { name: "Roles", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/roles`)) throw new Error("not the org's roles: " + page.url());
  for (const builtin of ["owner", "admin", "member"]) {
    await page.locator("#role-list .role-key").filter({ hasText: builtin }).waitFor();
  }
  // Person-only permissions are not offered.
  if (await page.locator("#create-role input[value='org:delete']").count()) throw new Error("org:delete offered");

  // A built-in name is refused where it was typed.
  await page.fill("#create-role input[name=key]", "owner");
  await page.fill("#create-role input[name=name]", "Boss");
  await press(page, "Create role");
  await page.locator("#create-role .field-error").filter({ hasText: "built in" }).waitFor();

  await page.fill("#create-role input[name=key]", "billing-viewer");
  await page.fill("#create-role input[name=name]", "Billing viewer");
  for (const p of ["org:read", "members:read", "audit:read"]) await page.check(`#create-role input[value='${p}']`);
  await press(page, "Create role");
  await toastSays(page, "billing-viewer created");
  await page.locator("#role-list tr").filter({ hasText: "billing-viewer" }).filter({ hasText: "audit:read" }).waitFor();
  await screen(page, "roles");

  // Edit: drop audit:read.
  await page.getByRole("button", { name: "Edit billing-viewer" }).click();
  await page.locator("#edit-role").waitFor();
  await page.uncheck("#edit-role input[value='audit:read']");
  await press(page, "Save role");
  await toastSays(page, "billing-viewer saved");
  const row = page.locator("#role-list tr").filter({ hasText: "billing-viewer" });
  // The list is drawn again: the row without audit:read replaces the old one.
  await row.filter({ hasText: "members:read" }).filter({ hasNotText: "audit:read" }).waitFor();

  // Held by a member: the Worker refuses the deletion, and says why.
  if ((await ask("assign: billing-viewer")) !== "assigned") throw new Error("not assigned");
  await page.getByRole("button", { name: "Delete billing-viewer" }).click();
  await confirmDialog(page, "Delete");
  await toastSays(page, "in use");
  await screen(page, "roles-in-use");

  if ((await ask("unassign: billing-viewer")) !== "unassigned") throw new Error("not unassigned");
  await page.getByRole("button", { name: "Delete billing-viewer" }).click();
  await confirmDialog(page, "Delete");
  await toastSays(page, "billing-viewer deleted");
  await row.waitFor({ state: "detached" });
  return "roles done";
});
