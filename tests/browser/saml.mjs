// Signs in through an org's SAML identity provider from the sign-in page:
// "Sign in with SSO", the work email, the fake SAML IdP's approval page
// (our AuthnRequest arrived over HTTP-Redirect), its signed Response posted
// to the Worker's ACS (HTTP-POST binding), and the page exchanges the login
// code for a session: the person lands in the console as a member.
// Usage: node saml.mjs <base url> <work email> <org name> <screenshot.png>
import { run, TIMEOUT } from "./lib.mjs";

const [base, email, org, shot] = process.argv.slice(2);

await run(shot, async (page) => {
  await page.goto(`${base}/signin`);
  await page.getByRole("button", { name: "Sign in with SSO" }).click();
  await page.getByLabel("Work email").fill(email);
  await page.getByRole("button", { name: "Continue with SSO" }).click();
  await page.locator("#approve").waitFor({ timeout: TIMEOUT });
  if (!page.url().includes("/saml/sso?SAMLRequest=")) throw new Error("not at the SAML IdP: " + page.url());
  await page.click("#approve");
  await page.waitForURL((u) => !u.pathname.startsWith("/signin") && !u.href.includes("login_code"), { timeout: 15000 });
  await page.locator("option", { hasText: org }).first().waitFor({ state: "attached", timeout: TIMEOUT });
  const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
  if (/eyJ|refresh|access_token|SAMLResponse/.test(stored)) throw new Error("a token is readable by scripts: " + stored);
  return "signed in through SAML at " + new URL(page.url()).pathname;
});
