// Login CSRF in a real browser: the victim is signed in to the console, then
// opens a link carrying a login code that an attacker's browser made
// (`/settings/security#login_code=…`). Without the attacker's flow cookie the
// code is refused; the victim must stay the same person.
// Usage: node planted.mjs <console url> <planted code> <victim email> <password> <screenshot.png>
import { run, submit, waitForText } from "./lib.mjs";

const [base, code, email, password, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(base + "/settings/security");
  await submit(page, "#signin", { email, password });
  await waitForText(page, "#lead", `is off for ${email}`);
  // The victim clicks the planted link: a fresh page load, the session comes
  // back from the refresh cookie, and the fragment carries the code.
  await page.goto("about:blank");
  await page.goto(`${base}/settings/security#login_code=${code}`);
  await waitForText(page, "[role=status]", "not started in this browser");
  await waitForText(page, "#lead", `is off for ${email}`);
  if (page.url().includes("login_code")) throw new Error("the code stayed in the address bar: " + page.url());
  const me = await page.evaluate(async () => {
    const r = await fetch("/v1/auth/token", { method: "POST", headers: { "x-latchkey-client": "browser" } });
    return (await r.json()).user?.email;
  });
  if (me !== email) throw new Error(`the browser's session is now ${me}, not ${email}`);
  return "still signed in as " + me;
});
