// The API reference (/docs, Swagger UI): reached from the console's sidebar,
// it picks up the console's session; "Create an organization" → Try it out →
// Execute answers 201. Swagger UI runs under the same strict CSP as the
// console (a violation is a console error, which fails the run). Signed out,
// the page says how to authorize instead.
// Usage: node docs.mjs <base url> <email> <password>
import { walkthrough, screen, signIn, assertNoStoredToken } from "./lib.mjs";

const [base, email, password] = process.argv.slice(2);
const ORG = "Docs Playground";

await walkthrough(async ({ person }) => {
  const page = await person("developer");
  // Any CSP violation on the way (Swagger UI must need nothing the console's
  // policy forbids). The listener goes in through the DevTools protocol.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await signIn(page, base, email, password);
  const link = page.locator("#sidebar").getByRole("link", { name: "API reference" });
  await link.click();
  await page.waitForURL(/\/docs$/);
  await page.locator("#credential").filter({ hasText: `Signed in as ${email}` }).waitFor();

  // The filter narrows the reference to the orgs tag (Swagger UI renders a
  // long list of operations progressively; filtering is how people find one).
  await page.locator(".operation-filter-input").fill("orgs");
  const op = page.locator(".opblock").filter({ has: page.locator(".opblock-summary-description", { hasText: /^Create an organization$/ }) });
  await op.locator(".opblock-summary-control").click();
  // The example request body is the one the document gives.
  await op.getByRole("button", { name: "Try it out" }).click();
  const body = op.locator("textarea.body-param__text");
  await body.waitFor();
  const example = JSON.parse(await body.inputValue());
  if (typeof example.name !== "string") throw new Error("no example request body: " + JSON.stringify(example));
  await body.fill(JSON.stringify({ name: ORG }));
  await op.getByRole("button", { name: "Execute" }).click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const code = (await status.textContent()).trim();
  if (code !== "201") throw new Error(`Create an organization answered ${code}: ${await op.locator(".live-responses-table").textContent()}`);
  const answer = await op.locator(".live-responses-table .response-col_description pre").first().textContent();
  if (!answer.includes(ORG)) throw new Error("the answer does not show the new org: " + answer);
  await screen(page, "api-reference");
  const violations = await page.evaluate(() => window.__csp);
  if (violations.length) throw new Error("CSP violations on /docs: " + violations.join("; "));
  await assertNoStoredToken(page);
  if (page.url().includes("token") || page.url().includes("eyJ")) throw new Error("a token in the address: " + page.url());

  // Signed out (a fresh browser): no session to send, and the page says so.
  const stranger = await person("stranger");
  await stranger.goto(base + "/docs");
  await stranger.locator("#credential").filter({ hasText: "Not signed in" }).waitFor();
  await stranger.locator(".operation-filter-input").fill("orgs");
  await stranger.locator(".opblock-summary-description", { hasText: /^Create an organization$/ }).waitFor();
  await screen(stranger, "api-reference-signed-out");
  return `created ${ORG} from the API reference: ${code}`;
});
