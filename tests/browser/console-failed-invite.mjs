// Team shows an invitation whose email the mail API refused as failed, and
// Resend there sends it again.
// Usage: node console-failed-invite.mjs <base url> <owner email> <password> <invited email>
import { walkthrough, screen, signIn } from "./lib.mjs";

const [base, email, password, invited] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  const row = page.getByRole("row").filter({ hasText: invited });
  await row.filter({ hasText: "Delivery failed" }).waitFor();
  await screen(page, "team-delivery-failed");
  await page.getByRole("button", { name: `Resend the invitation to ${invited}` }).click();
  await page.locator(".toast").filter({ hasText: `A new link was sent to ${invited}` }).waitFor();
  return "resent from the console";
});
