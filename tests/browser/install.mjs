// Drives Debian's Chromium through the console's /install (axe-checked): the customer signs in, picks
// their workspace and approves the organization's access.
// Usage: node install.mjs <install url with #token=...> <email> <password> <screenshot.png>
import { assertTokenGone, run, screen, submit, waitForText, waitVisible } from "./lib.mjs";

const [url, email, password, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(url);
  await waitForText(page, "#lead", "asks for admin access");
  assertTokenGone(page);
  await submit(page, "#signin", { email, password });
  await waitVisible(page, "#approve");
  await screen(page, "install");
  await page.click("#approve button");
  await waitForText(page, "#lead", "now has admin access");
  return "ok: " + (await page.textContent("#lead"));
});
