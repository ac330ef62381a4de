// Organization Settings → Trust policies: the owner creates a policy for a
// GitHub repository by the form's labels, edits its key lifetime, and
// deletes it; a member's sidebar has no Trust policies link (the org view's
// permissions do not list api_keys:write for them).
// Usage: node console-trust.mjs <base url> <owner email> <member email> <password> <org id>
import { walkthrough, screen, signIn, press, toastSays, confirmDialog } from "./lib.mjs";

const [base, ownerEmail, memberEmail, password, org] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, ownerEmail, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Trust policies" }).click();
  await page.getByRole("heading", { name: "Trust policies", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/trust-policies`)) throw new Error("not the org's trust policies: " + page.url());
  await page.locator(".empty").filter({ hasText: "No trust policies yet" }).waitFor();

  const create = page.locator("#create-trust-policy");
  await create.getByLabel("Name").fill("Deploy from main");
  if ((await create.getByLabel("Issuer").inputValue()) !== "https://token.actions.githubusercontent.com") {
    throw new Error("GitHub Actions is the issuer offered first");
  }
  // Without an immutable id the Worker refuses, under the field.
  await create.getByLabel("Conditions").fill("ref=refs/heads/main");
  await press(page, "Create trust policy");
  await create.locator(".field-error").filter({ hasText: /id/ }).first().waitFor();

  await create.getByLabel("Conditions").fill("repository_id=892364021\nref=refs/heads/main");
  await create.getByLabel("members:read").check();
  await create.getByLabel("Longest key lifetime").selectOption({ label: "30 minutes" });
  await press(page, "Create trust policy");
  await toastSays(page, "Trust policy “Deploy from main” created");
  const row = page.getByRole("row").filter({ hasText: "Deploy from main" });
  await row.filter({ hasText: "repository_id=892364021" }).filter({ hasText: "30 minutes" }).waitFor();
  await row.filter({ hasText: "members:read" }).waitFor();
  await screen(page, "trust-policies");

  await page.getByRole("button", { name: "Edit Deploy from main" }).click();
  const edit = page.locator("#edit-trust-policy");
  await edit.getByLabel("Longest key lifetime").selectOption({ label: "1 hour" });
  await press(page, "Save changes");
  await toastSays(page, "Trust policy “Deploy from main” saved");
  await row.filter({ hasText: "1 hour" }).waitFor();

  await page.getByRole("button", { name: "Delete Deploy from main" }).click();
  await confirmDialog(page, "Delete");
  await toastSays(page, "Trust policy “Deploy from main” deleted");
  await page.locator(".empty").filter({ hasText: "No trust policies yet" }).waitFor();

  const member = await person("member");
  await signIn(member, base, memberEmail, password);
  await member.getByRole("heading", { name: "Team" }).waitFor();
  await member.locator("#sidebar").getByRole("link", { name: "API Keys" }).waitFor();
  if (await member.locator("#sidebar").getByRole("link", { name: "Trust policies" }).count()) {
    throw new Error("a member's sidebar links Trust policies");
  }
  return "trust policies done";
});
