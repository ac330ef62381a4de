// Organization Settings → Single sign-on: the owner connects the org's SAML
// IdP by its metadata URL (the org's one verified domain ticked) and reads
// our SP metadata URL to give the IdP. Prints that URL.
// Usage: node console-saml.mjs <base url> <owner email> <password> <org id> <metadata url>
import { walkthrough, screen, signIn, press, toastSays } from "./lib.mjs";

const [base, email, password, org, metadataUrl] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Single sign-on" }).click();
  await page.getByRole("heading", { name: "Single sign-on", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/sso`)) throw new Error("not the org's SSO screen: " + page.url());
  const saml = page.locator("#add-saml");
  await saml.getByLabel("IdP metadata URL").fill(metadataUrl);
  if (!(await saml.getByLabel("acme.test").isChecked())) throw new Error("the verified domain is not ticked");
  await press(page, "Connect SAML provider");
  await toastSays(page, "connected: give the IdP our SP metadata URL");
  const connections = page.getByRole("table", { name: "Connections" });
  await connections.getByText("acme.test").waitFor();
  const metadata = (await connections.locator(".sp-metadata").first().textContent()).trim();
  await screen(page, "saml");
  return metadata;
});
