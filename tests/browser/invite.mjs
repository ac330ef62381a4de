// Drives Debian's Chromium through the /invite page like a person would.
// Usage: node invite.mjs <invite url with #token=...> <scenario> <screenshot.png>
//   scenario "signup":  sees the org and role, creates an account, lands in
//                       the org's Team screen; prints the toast ("You joined …").
//   scenario "revoked": sees that the invitation was revoked.
//   scenario "decline": sees the org, declines without an account.
//   scenario "declined": sees that the invitation was declined.
// Exits non-zero with a message when the page does not behave.
import { assertTokenGone, run, submit, toastSays, waitForText, TIMEOUT } from "./lib.mjs";

const [url, scenario, shot] = process.argv.slice(2);
await run(shot, async (page) => {
  await page.goto(url);
  if (scenario === "signup") {
    await waitForText(page, "#lead", "invited");
    const text = await page.textContent("#lead");
    if (!/Acme/.test(text) || !/as member/.test(text)) throw new Error("preview text: " + text);
    assertTokenGone(page);
    await submit(page, "#signup", { name: "Browser Person", password: "correct horse battery staple" });
    await page.getByRole("heading", { name: "Team", level: 1 }).waitFor({ timeout: TIMEOUT });
    const said = await toastSays(page, "You joined");
    if (!/^\/orgs\/[^/]+\/team$/.test(new URL(page.url()).pathname)) throw new Error("joined, but not in the org: " + page.url());
    return "ok: " + said;
  } else if (scenario === "revoked") {
    await waitForText(page, "#lead", "revoked");
  } else if (scenario === "decline") {
    await waitForText(page, "#lead", "invited");
    assertTokenGone(page);
    await page.click("#decline");
    await waitForText(page, "#lead", "You declined");
  } else if (scenario === "declined") {
    await waitForText(page, "#lead", "declined");
  } else {
    throw new Error("unknown scenario " + scenario);
  }
  return "ok: " + (await page.textContent("#lead"));
});
