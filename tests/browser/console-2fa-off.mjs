// Account Settings → Security → Turn off, for an account with 2FA on: sign
// in with a code, then "Disable 2FA" with a fresh code (a wrong one is
// refused at its field first), confirmed in the dialog.
// Usage: node console-2fa-off.mjs <base url> <email> <password>
// Asks "sign-in code" and then "fresh code" (one of a later step).
import { walkthrough, screen, signIn, press, ask, confirmDialog } from "./lib.mjs";

const [base, email, password] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.locator("#mfa").waitFor();
  await page.fill("#mfa input[name=code]", await ask("sign-in code"));
  await press(page, "Verify");
  await page.locator("#sidebar").getByRole("link", { name: "Security" }).click();
  await page.locator("#lead").filter({ hasText: "is on" }).waitFor();

  await page.fill("#disable input[name=code]", "000000");
  await press(page, "Disable 2FA", "#disable");
  await confirmDialog(page, "Disable 2FA");
  await page.locator("#disable .field-error, #disable .form-error").filter({ hasText: /\S/ }).first().waitFor();
  console.log("a wrong code is refused");

  await page.fill("#disable input[name=code]", await ask("fresh code"));
  await press(page, "Disable 2FA", "#disable");
  await confirmDialog(page, "Disable 2FA");
  await page.locator(".toast").filter({ hasText: "Two-factor authentication is off" }).waitFor();
  await page.locator("#lead").filter({ hasText: "is off" }).waitFor();
  await screen(page, "security-2fa-off");
  return "2fa off";
});
