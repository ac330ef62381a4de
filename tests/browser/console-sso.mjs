// Organization Settings → Single sign-on: the owner connects the org's
// OpenID provider (issuer, client, the verified domain), sees the redirect
// URI to register there, and requires SSO for the domain's addresses.
// Prints the connection's redirect URI.
// Usage: node console-sso.mjs <base url> <owner email> <password> <org id> <issuer> <client id> <client secret>
import { walkthrough, screen, signIn, press, toastSays } from "./lib.mjs";

const [base, email, password, org, issuer, clientId, clientSecret] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Single sign-on" }).click();
  await page.getByRole("heading", { name: "Single sign-on", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/sso`)) throw new Error("not the org's SSO screen: " + page.url());
  await page.locator(".empty").filter({ hasText: "No connections yet" }).waitFor();

  await page.getByLabel("Name").fill("Acme IdP");
  await page.getByLabel("Issuer URL").fill(issuer);
  await page.getByLabel("Client ID").fill(clientId);
  await page.getByLabel("Client secret").fill(clientSecret);
  // The org's one verified domain is ticked already.
  if (!(await page.locator("#add-sso").getByLabel("acme.test").isChecked())) throw new Error("the verified domain is not ticked");
  await press(page, "Connect provider");
  await toastSays(page, "Acme IdP connected");
  const connections = page.getByRole("table", { name: "Connections" });
  await connections.getByText("acme.test").waitFor();
  const redirect = (await connections.locator(".redirect-uri").first().textContent()).trim();
  if (!redirect.startsWith(`${base}/v1/auth/sso/ssc_`)) throw new Error("redirect URI: " + redirect);
  await screen(page, "sso");

  await page.getByLabel("Require single sign-on for addresses on these domains").check();
  await toastSays(page, "Single sign-on is now required");
  if (await page.getByLabel("Client secret").inputValue()) throw new Error("the secret stayed in the form");
  return redirect;
});
