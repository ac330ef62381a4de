// The rest of the console's actions, as an owner: the Team screen's last
// active column, inactive filter and access-review export; rotate a key with a grace
// period, create/copy/revoke an install link and approve it for one's own
// workspace, billing, the audit log's filters, profile and password (a wrong
// current password is shown at its field), the 2FA rule ("Everyone") refused without
// 2FA, and deleting a workspace and an organization (typed confirmation).
// Usage: node console-settings.mjs <base url> <email> <password>
import { walkthrough, screen, signIn, press, confirmDialog } from "./lib.mjs";

const [base, email, password] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  const side = (name) => page.locator("#sidebar").getByRole("link", { name, exact: true }).click();
  const h1 = (name) => page.getByRole("heading", { name, level: 1, exact: true }).waitFor();
  const toast = (text) => page.locator(".toast").filter({ hasText: text }).first().waitFor();
  await signIn(page, base, email, password);
  await h1("Team");

  // Team: each member's last active day, the "Inactive for" filter, and
  // the access-review export (shown by the view's permissions).
  await page.locator("th").filter({ hasText: "Last active" }).waitFor();
  await page.selectOption("#inactive-for", "30");
  await page.locator(".empty").filter({ hasText: "Nobody has been inactive for more than 30 days" }).waitFor();
  await page.selectOption("#inactive-for", "");
  await page.getByRole("row").filter({ hasText: email }).waitFor();
  await press(page, "Export access review (CSV)");
  await toast("Access review downloaded (CSV)");

  // A second org, to delete at the end.
  await page.locator("#sidebar").getByRole("link", { name: "Create organization" }).click();
  await page.fill("#create-org input[name=name]", "Scratch");
  await press(page, "Create organization", "main");
  await h1("Team");
  if ((await page.inputValue("#org-switch")) === "") throw new Error("no org selected");

  // API Keys: rotate with a 1-hour grace.
  await side("API Keys");
  await page.fill("#create-key input[name=name]", "Deployer");
  await press(page, "Create Key");
  await page.locator("#new-key").waitFor();
  const first = (await page.textContent("#new-key")).trim();
  await press(page, "Done");
  await page.getByLabel("Grace period for rotating Deployer").selectOption("3600");
  await page.getByRole("button", { name: "Rotate Deployer" }).click();
  await confirmDialog(page, "Rotate");
  await page.locator("#new-key").filter({ hasNotText: first }).waitFor();
  await page.getByRole("heading", { name: "The new key for “Deployer”" }).waitFor();

  // Install links: create, copy, then approve it for my own new workspace.
  await side("Install links");
  await h1("Install links");
  await press(page, "Create install link");
  await page.locator("#install-url").waitFor();
  const link = (await page.textContent("#install-url")).trim();
  if (!link.includes("/install#token=")) throw new Error("install link: " + link);
  await press(page, "Copy link");
  if ((await page.evaluate(() => navigator.clipboard.readText())) !== link) throw new Error("the link was not copied");
  await side("New workspace");
  await page.fill("#create-workspace input[name=name]", "Sandbox");
  await press(page, "Create workspace");
  await h1("Sandbox");
  await page.fill("#approve-link input[name=link]", "https://example.com/not-a-link");
  await press(page, "Approve access", "#approve-link");
  await page.locator("#approve-link .field-error").filter({ hasText: "not an install link" }).waitFor();
  await page.fill("#approve-link input[name=link]", link);
  await press(page, "Approve access", "#approve-link");
  await page.getByRole("row").filter({ hasText: "Scratch" }).waitFor();
  // Billing, owner only.
  await page.selectOption("#billing select[name=plan]", "pro");
  await page.fill("#billing input[name=billing_email]", "billing@example.com");
  await press(page, "Save billing");
  await toast("Billing saved");
  await screen(page, "workspace-owner");

  // Back in the org: the managed workspace is listed; revoke the link.
  await side("Install links");
  await page.getByRole("row").filter({ hasText: "Sandbox" }).waitFor();
  await page.getByRole("row").filter({ hasText: "Active" }).getByRole("button", { name: "Revoke" }).click();
  await confirmDialog(page, "Revoke");
  await page.getByRole("row").filter({ hasText: "Revoked" }).waitFor();

  // Audit log: the filters narrow what is loaded.
  await side("Audit log");
  await h1("Audit log");
  await page.getByRole("row").filter({ hasText: "api_key.rotated" }).first().waitFor();
  await page.selectOption("#filter-action", "install_link.revoked");
  if (await page.getByRole("row").filter({ hasText: "api_key.rotated" }).count()) throw new Error("the action filter let other actions through");
  await page.getByRole("row").filter({ hasText: "install_link.revoked" }).waitFor();
  await page.fill("#filter-actor", "nobody-like-this");
  await page.locator(".empty").filter({ hasText: "No loaded event matches" }).waitFor();

  // General: Require 2FA needs 2FA on for me first.
  await side("General");
  await h1("Organization Settings");
  await page.locator("#without-2fa").filter({ hasText: email }).waitFor();
  await page.selectOption("#two-factor-rule select[name=rule]", "all");
  await press(page, "Save 2FA rule");
  await confirmDialog(page, "Require 2FA");
  await toast("Turn on two-factor authentication for yourself first");

  // Profile and password.
  await side("Profile");
  await h1("Account Settings");
  await page.fill("#profile input[name=name]", "Olivia O.");
  await press(page, "Save", "#profile");
  await toast("Saved");
  await page.fill("#password input[name=current_password]", "not my password at all");
  await page.fill("#password input[name=new_password]", "another long passphrase 2");
  await press(page, "Change password");
  await page.locator("#password .field-error").filter({ hasText: "not your current password" }).waitFor();

  // Delete the workspace, then the org (typed confirmations).
  await page.locator("#my-workspaces").getByRole("link", { name: "Sandbox" }).click();
  await h1("Sandbox");
  await press(page, "Delete workspace");
  const dialog = page.locator("dialog[open]");
  if (await dialog.getByRole("button", { name: "Delete workspace" }).isEnabled()) throw new Error("deleting without typing the name");
  await dialog.getByLabel("Type Sandbox to confirm").fill("Sandbox");
  await confirmDialog(page, "Delete workspace");
  await toast("Sandbox deleted");
  await page.locator("#org-switch").selectOption({ label: "Scratch" });
  await h1("Team");
  await side("General");
  await h1("Organization Settings");
  await press(page, "Delete organization");
  const slug = await page.inputValue("#org-general input[name=slug]");
  await page.locator("dialog[open]").getByLabel(`Type ${slug} to confirm`).fill(slug);
  await confirmDialog(page, "Delete organization");
  await toast("Scratch deleted");
  if (await page.locator("#org-switch option", { hasText: "Scratch" }).count()) throw new Error("the deleted org is still in the switcher");
  return "settings done";
});
