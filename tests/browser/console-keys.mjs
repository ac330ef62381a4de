// Seed flow 2 in the console: Organization Settings → API Keys → Create Key,
// copy it (the clipboard holds exactly the key shown once), the test calls
// the API with it, then Revoke, and the test's next call is refused.
// Usage: node console-keys.mjs <base url> <email> <password> <org id>
// Asks "key: <key>" (the test answers what the API said to it), then
// "revoked: <key>" (likewise). Then the owner's Key policy form: keys must
// expire within 30 days, warned 30 and 3 days ahead; Expires offers no
// "Never"; a new 30-day key is badged "Expires in 30 days" and prompted for
// rotation, rotated from the prompt; the policy is put back as it was.
import { walkthrough, screen, signIn, press, confirmDialog, ask, assertNoStoredToken, toastSays } from "./lib.mjs";

const [base, email, password, org] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "API Keys" }).click();
  await page.getByRole("heading", { name: "API Keys", level: 1 }).waitFor();
  await page.locator(".empty").filter({ hasText: "No API keys yet" }).waitFor();
  await screen(page, "api-keys");
  if (!page.url().endsWith(`/orgs/${org}/api-keys`)) throw new Error("not the org's keys: " + page.url());

  const expires = page.locator("#create-key select[name=expires]");
  const expiresShows = () => expires.evaluate((s) => s.selectedOptions[0].textContent);
  if ((await expiresShows()) !== "In 90 days") throw new Error("Expires starts at " + (await expiresShows()));
  await page.fill("#create-key input[name=name]", "CI deploys");
  await page.selectOption("#create-key select[name=preset]", "read");
  await page.check("#scope-apps-deploy");
  if ((await page.inputValue("#create-key select[name=preset]")) !== "custom") throw new Error("picking a scope did not switch to Custom");
  await press(page, "Create Key");
  await page.locator("#new-key").waitFor();
  const key = (await page.textContent("#new-key")).trim();
  if (!key.startsWith("lk_")) throw new Error("not a key: " + key);
  const curl = await page.textContent("#curl-example");
  if (!curl.includes(`Bearer ${key}`) || !curl.includes(`${base}/v1/api-keys/current`)) throw new Error("curl example: " + curl);
  await press(page, "Copy key");
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== key) throw new Error("the clipboard holds " + copied);
  // The form is ready for the next key with its defaults, not the first options.
  if ((await expiresShows()) !== "In 90 days") throw new Error("after Create, Expires shows " + (await expiresShows()));
  if ((await page.inputValue("#create-key select[name=preset]")) !== "read") throw new Error("after Create, the preset is not Read only");
  await screen(page, "api-key-created");
  await assertNoStoredToken(page);

  const answer = await ask("key: " + key);
  if (answer !== "200") throw new Error("the new key was refused: " + answer);

  // Listed with its prefix and scopes, never the key itself.
  const row = page.getByRole("row").filter({ hasText: "CI deploys" });
  await row.filter({ hasText: "apps:deploy" }).waitFor();
  if ((await row.textContent()).includes(key)) throw new Error("the list shows the whole key");
  await press(page, "Done");
  // From the keyboard: the confirm dialog takes focus (on Cancel), Escape
  // closes it without revoking and gives focus back; focus is visible.
  await page.getByRole("button", { name: "Rotate CI deploys" }).focus();
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => [document.activeElement.getAttribute("aria-label"), getComputedStyle(document.activeElement).outlineStyle]);
  if (focused[0] !== "Revoke CI deploys") throw new Error("Tab did not reach Revoke: " + focused[0]);
  if (focused[1] === "none") throw new Error("no visible focus on a focused button");
  await page.keyboard.press("Enter");
  await page.locator("dialog[open]").waitFor();
  if ((await page.evaluate(() => document.activeElement.textContent)) !== "Cancel") throw new Error("the dialog did not take focus");
  await page.keyboard.press("Escape");
  await page.locator("dialog[open]").waitFor({ state: "detached" });
  if ((await page.evaluate(() => document.activeElement.getAttribute("aria-label"))) !== "Revoke CI deploys") throw new Error("focus did not come back");
  await page.getByRole("row").filter({ hasText: "CI deploys" }).filter({ hasText: "Active" }).waitFor();
  await page.keyboard.press("Enter");
  await confirmDialog(page, "Revoke");
  await page.getByRole("row").filter({ hasText: "CI deploys" }).filter({ hasText: "Revoked" }).waitFor();
  if (await page.getByRole("button", { name: "Revoke CI deploys" }).count()) throw new Error("a revoked key can still be revoked");

  const after = await ask("revoked: " + key);
  if (after !== "401 invalid_api_key") throw new Error("the revoked key still answered: " + after);

  // The key policy, set by the owner (the org view lists org:delete).
  await page.fill("#key-policy input[name=max_lifetime_days]", "30");
  await page.check("#key-policy input[name=require_expiry]");
  await page.fill("#key-policy input[name=warn_before_days]", "30, 3");
  await press(page, "Save policy");
  await toastSays(page, "Key policy saved");
  await page.locator("#key-policy-summary").filter({ hasText: "Keys live at most 30 days." }).waitFor();
  const offered = await expires.evaluate((s) => [...s.options].map((o) => o.textContent));
  if (offered.includes("Never") || offered[0] !== "In 30 days") throw new Error("Expires offers " + offered.join(", "));
  await page.fill("#create-key input[name=name]", "Nightly");
  await press(page, "Create Key");
  await page.locator("#new-key").waitFor();
  await press(page, "Done");
  const nightly = page.getByRole("row").filter({ hasText: "Nightly" });
  await nightly.filter({ hasText: "Expires in 30 days" }).waitFor();
  const prompt = page.locator("#rotate-prompts .notice").filter({ hasText: "“Nightly” expires in 30 days" });
  await prompt.waitFor();
  await screen(page, "api-key-policy");
  await prompt.getByRole("button", { name: "Rotate Nightly" }).click();
  await confirmDialog(page, "Rotate");
  await page.locator("#key-reveal h2").filter({ hasText: "The new key for “Nightly”" }).waitFor();
  await press(page, "Done");

  // Back to no limits, so the org's other walkthroughs create keys as before.
  await page.fill("#key-policy input[name=max_lifetime_days]", "");
  await page.uncheck("#key-policy input[name=require_expiry]");
  await page.fill("#key-policy input[name=warn_before_days]", "14, 3");
  await press(page, "Save policy");
  await page.locator("#key-policy-summary").filter({ hasText: "No limit on a key's lifetime." }).waitFor();
  return "key created, used, revoked and refused; policy set, key rotated from its prompt";
});
