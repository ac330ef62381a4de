// A sign-in code of this browser's own, arriving while someone is signed in
// (a provider sign-in started from a link): the console does not exchange it
// on its own. It names the account the code would switch to and asks;
// "Cancel" keeps the person who is signed in.
// Usage: node switch.mjs <console url> <email> <password> <account the code signs in> <screenshot.png>
import { run, submit, waitForText } from "./lib.mjs";

const [base, email, password, other, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(base + "/settings/security");
  await submit(page, "#signin", { email, password });
  await waitForText(page, "#lead", `is off for ${email}`);
  // A provider sign-in in this same browser, back to the Security screen.
  await page.goto(`${base}/v1/auth/oauth/github/authorize?redirect_uri=${encodeURIComponent(base + "/settings/security")}`);
  await page.locator("#approve").waitFor({ timeout: 10000 });
  await page.click("#approve");
  const dialog = page.getByRole("dialog");
  await dialog.filter({ hasText: `Switch to ${other}?` }).waitFor({ timeout: 15000 });
  const said = (await dialog.textContent()).replace(/\s+/g, " ").trim();
  if (!said.includes(`signed in as ${email}`)) throw new Error("the dialog does not name the current account: " + said);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await waitForText(page, "[role=status]", "You stayed signed in as yourself");
  await waitForText(page, "#lead", `is off for ${email}`);
  const me = await page.evaluate(async () => {
    const r = await fetch("/v1/auth/token", { method: "POST", headers: { "x-latchkey-client": "browser" } });
    return (await r.json()).user?.email;
  });
  if (me !== email) throw new Error(`the browser's session is now ${me}, not ${email}`);
  return `asked before switching to ${other}; still ${me}`;
});
