// "Shared With Me" for a member without the 2FA their org requires: the
// sidebar lists the granted workspace without its name, as "Turn on
// two-factor authentication to open", and that link leads to Security.
// Usage: node shared-2fa.mjs <base url> <email> <password> <hidden workspace name>
import { walkthrough, screen, signIn } from "./lib.mjs";

const [base, email, password, hiddenName] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("member");
  await signIn(page, base, email, password);
  const locked = page.locator("#shared-with-me li.locked").filter({ hasText: "via Strict" });
  await locked.waitFor();
  const text = await page.locator("#sidebar").innerText();
  if (text.includes(hiddenName)) throw new Error(`the sidebar names the workspace: ${text}`);
  await screen(page, "shared-2fa");
  await locked.getByRole("link", { name: "Turn on two-factor authentication to open" }).click();
  await page.getByRole("heading", { name: "Security", level: 1 }).waitFor();
  console.log("the locked entry leads to Security");
});
