// Organization Settings → Single sign-on → SCIM provisioning: the owner
// creates a SCIM token for the directory (shown once, with the base URL),
// sees it listed by its start only, and revokes another.
// Prints the token.
// Usage: node console-scim.mjs <base url> <owner email> <password> <org id>
import { walkthrough, screen, signIn, press, toastSays, confirmDialog } from "./lib.mjs";

const [base, email, password, org] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Single sign-on" }).click();
  await page.getByRole("heading", { name: "Single sign-on", level: 1 }).waitFor();
  await page.locator("#scim-tokens .empty").filter({ hasText: "No SCIM tokens yet" }).waitFor();

  // A spare token first, revoked below.
  await page.getByLabel("Directory").fill("Spare");
  await press(page, "Create SCIM token");
  await page.locator("#new-scim-token").waitFor();
  await page.getByRole("button", { name: "Done" }).click();

  await page.getByLabel("Directory").fill("Okta");
  await press(page, "Create SCIM token");
  const token = (await page.locator("#new-scim-token").textContent()).trim();
  if (!token.startsWith("lk_scim_")) throw new Error("token: " + token);
  const url = (await page.locator("#scim-base-url").textContent()).trim();
  if (url !== `${base}/scim/v2/${org}`) throw new Error("base URL: " + url);
  const tokens = page.getByRole("table", { name: "SCIM tokens" });
  await tokens.getByText("Okta").waitFor();
  // Listed by its start only.
  if ((await tokens.textContent()).includes(token)) throw new Error("the whole token is listed");
  await screen(page, "scim");

  const spare = tokens.getByRole("row").filter({ hasText: "Spare" });
  await spare.getByRole("button", { name: "Revoke" }).click();
  await confirmDialog(page, "Revoke");
  await toastSays(page, "Spare revoked");
  await tokens.getByText("Spare").waitFor({ state: "detached" });
  return token;
});
