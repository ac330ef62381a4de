// Drives Debian's Chromium through the console's /verify-email: it asks for the
// password chosen at sign-up; a wrong one is refused and changes nothing,
// the right one verifies, signs in and lands in the console (no extra step).
// Usage: node verify.mjs <verify url with #token=...> <wrong password> <password> <screenshot.png>
import { assertTokenGone, run, submit, toastSays, waitForText, waitVisible, TIMEOUT } from "./lib.mjs";

const [url, wrong, password, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(url);
  await waitVisible(page, "#verify");
  assertTokenGone(page);
  await submit(page, "#verify", { password: wrong });
  await waitForText(page, "#verify .field-error", "not the password");
  await submit(page, "#verify", { password });
  await page.getByRole("heading", { name: "Welcome to Latchkey", level: 1 }).waitFor({ timeout: TIMEOUT });
  const said = await toastSays(page, "is verified");
  if (new URL(page.url()).pathname !== "/") throw new Error("verified, but not in the console: " + page.url());
  return "ok: " + said;
});
