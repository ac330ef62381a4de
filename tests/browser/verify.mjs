// Drives Debian's Chromium through the console's /verify-email: it asks for the
// password chosen at sign-up; a wrong one is refused and changes nothing,
// the right one verifies and signs in.
// Usage: node verify.mjs <verify url with #token=...> <wrong password> <password> <screenshot.png>
import { assertTokenGone, run, submit, waitForText, waitVisible } from "./lib.mjs";

const [url, wrong, password, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(url);
  await waitVisible(page, "#verify");
  assertTokenGone(page);
  await submit(page, "#verify", { password: wrong });
  await waitForText(page, "#verify .field-error", "not the password");
  await submit(page, "#verify", { password });
  await waitForText(page, "#lead", "is verified");
  return "ok: " + (await page.textContent("#lead"));
});
