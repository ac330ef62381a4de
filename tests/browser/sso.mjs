// Signs in through an org's own identity provider from the sign-in page:
// "Sign in with SSO", the work email, the fake IdP's approval page, back
// through the Worker's callback, and the page exchanges the login code for
// a session: the person lands in the console as a member of the org.
// Usage: node sso.mjs <base url> <work email> <org name> <screenshot.png>
import { run, TIMEOUT } from "./lib.mjs";

const [base, email, org, shot] = process.argv.slice(2);

await run(shot, async (page) => {
  await page.goto(`${base}/signin`);
  await page.getByRole("button", { name: "Sign in with SSO" }).click();
  await page.getByLabel("Work email").fill(email);
  await page.getByRole("button", { name: "Continue with SSO" }).click();
  await page.locator("#approve").waitFor({ timeout: TIMEOUT });
  if (!page.url().includes("/idp/authorize")) throw new Error("not at the org's provider: " + page.url());
  await page.click("#approve");
  // Back in the console, signed in, in the org the domain belongs to.
  await page.waitForURL((u) => !u.pathname.startsWith("/signin") && !u.href.includes("login_code"), { timeout: 15000 });
  // The org switcher holds the org the domain belongs to.
  await page.locator("option", { hasText: org }).first().waitFor({ state: "attached", timeout: TIMEOUT });
  const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
  if (/eyJ|refresh|access_token/.test(stored)) throw new Error("a token is readable by scripts: " + stored);
  return "signed in through SSO at " + new URL(page.url()).pathname;
});
