// Seed flow 1 in the console: a newcomer signs up, verifies, creates an org
// and invites a teammate; the teammate opens the emailed link in their own
// browser, signs up and lands in the org; the owner changes their role, then
// removes them. Every screen on the way gets an axe check and a screenshot.
// Usage: node console-team.mjs <base url> <owner email> <teammate email> <password>
// Prints "org: <id>" and "teammate removed".
import { walkthrough, screen, emailedLink, press, confirmDialog, assertNoStoredToken, assertTokenGone, toastSays, TIMEOUT } from "./lib.mjs";

const [base, ownerEmail, mateEmail, password] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const owner = await person("owner");
  // A newcomer at the root is sent to sign in.
  await owner.goto(base + "/");
  await owner.waitForURL(/\/signin/);
  await owner.getByRole("heading", { name: "Sign in to Latchkey" }).waitFor();
  await screen(owner, "sign-in");
  await owner.getByRole("link", { name: "Create an account" }).click();
  await owner.getByRole("heading", { name: "Create your account" }).waitFor();
  // The API's field errors show next to their field.
  await owner.fill("#signup input[name=name]", "Olivia Owner");
  await owner.fill("#signup input[name=email]", ownerEmail);
  await owner.fill("#signup input[name=password]", "password");
  await press(owner, "Sign up");
  await owner.locator("#signup .field-error").filter({ hasText: /common|password/i }).waitFor();
  await screen(owner, "sign-up-field-error");
  await owner.fill("#signup input[name=password]", password);
  await press(owner, "Sign up");
  await owner.getByRole("heading", { name: "Check your email" }).waitFor();
  await owner.locator("#dev-verify-link").waitFor();
  await screen(owner, "check-email");
  await owner.goto(await emailedLink(base, ownerEmail, "/verify-email"));
  await owner.locator("#verify").waitFor();
  assertTokenGone(owner);
  await screen(owner, "verify-email");
  await owner.fill("#verify input[name=password]", password);
  await press(owner, "Verify");
  // Verified: straight into the console (no "Continue" step), a toast says so.
  await owner.getByRole("heading", { name: "Welcome to Latchkey" }).waitFor();
  await toastSays(owner, `Your email ${ownerEmail} is verified`);
  if (new URL(owner.url()).pathname !== "/") throw new Error("verified, but not at the console's root: " + owner.url());
  if (await owner.getByText("Continue to the console").count()) throw new Error("an extra step after verifying");
  await screen(owner, "welcome");
  await owner.locator("main").getByRole("link", { name: "Create organization" }).click();
  await owner.getByRole("heading", { name: "Create organization" }).waitFor();
  await screen(owner, "create-organization");
  await owner.fill("#create-org input[name=name]", "Acme");
  await owner.fill("#create-org input[name=slug]", "acme");
  await press(owner, "Create organization", "main");
  await owner.getByRole("heading", { name: "Team" }).waitFor();
  const org = owner.url().match(/\/orgs\/(org_[^/]+)\/team/)[1];
  await assertNoStoredToken(owner);

  // A reload keeps the person signed in (the refresh cookie), on the same
  // screen. Two tabs reloading at the same moment both stay signed in: their
  // refreshes take turns (navigator.locks), so the rotating cookie is never
  // presented twice (which would end the session as a stolen token's reuse).
  await owner.reload();
  await owner.getByRole("heading", { name: "Team" }).waitFor();
  await owner.locator("#sidebar").getByText("Organization Settings").waitFor();
  const tab = await owner.context().newPage();
  await tab.goto(owner.url());
  await tab.getByRole("heading", { name: "Team" }).waitFor();
  for (let i = 0; i < 2; i++) {
    await Promise.all([owner.reload(), tab.reload()]);
    await Promise.all([owner, tab].map((p) => p.getByRole("heading", { name: "Team" }).waitFor()));
  }
  await tab.close();
  await owner.reload();
  await owner.getByRole("heading", { name: "Team" }).waitFor();

  // Organization Settings → Team → Invite Member.
  await owner.locator("#sidebar").getByRole("link", { name: "Team" }).click();
  await owner.fill("#invite-member input[name=email]", mateEmail);
  await owner.selectOption("#invite-member select[name=role]", "member");
  await press(owner, "Send Invite");
  const pending = owner.getByRole("row").filter({ hasText: mateEmail });
  await pending.waitFor();
  await screen(owner, "team");

  // The teammate, in a browser of their own, opens the emailed link.
  const mate = await person("teammate");
  await mate.goto(await emailedLink(base, mateEmail, "/invite"));
  await mate.locator("#lead").filter({ hasText: "invited" }).waitFor();
  const lead = await mate.textContent("#lead");
  if (!/Acme/.test(lead) || !/as member/.test(lead)) throw new Error("invitation preview: " + lead);
  assertTokenGone(mate);
  await screen(mate, "invitation");
  // Two forms, told apart by name (a screen reader lists them by it), and
  // no two fields with one label.
  const signUpForm = mate.getByRole("form", { name: "Create your account", exact: true });
  const signInForm = mate.getByRole("form", { name: "Sign in instead", exact: true });
  if ((await signUpForm.count()) !== 1 || (await signInForm.count()) !== 1) throw new Error("the invitation's forms are not named apart");
  if ((await mate.getByRole("form").count()) !== 2) throw new Error("an unnamed form on the invitation page");
  const labels = await mate.locator("main label").allTextContents();
  if (new Set(labels).size !== labels.length) throw new Error("fields share a label: " + labels.join(", "));
  await signUpForm.getByLabel("Name", { exact: true }).fill("Tom Teammate");
  await signUpForm.getByLabel("Choose a password", { exact: true }).fill(password);
  await press(mate, "Sign up and join");
  // Signed up: straight into the organization, a toast says so.
  await mate.getByRole("heading", { name: "Team" }).waitFor();
  await toastSays(mate, "You joined Acme as member");
  if (new URL(mate.url()).pathname !== `/orgs/${org}/team`) throw new Error("joined, but not in the org: " + mate.url());
  await mate.locator("#org-switch").filter({ hasText: "Acme" }).waitFor();
  await mate.getByRole("row").filter({ hasText: ownerEmail }).waitFor();
  await assertNoStoredToken(mate);

  // The owner changes the teammate's role, then removes them.
  await owner.locator("#sidebar").getByRole("link", { name: "General" }).click();
  await owner.getByRole("heading", { name: "Organization Settings" }).waitFor();
  await owner.locator("#sidebar").getByRole("link", { name: "Team" }).click();
  await owner.getByRole("heading", { name: "Team" }).waitFor();
  const row = owner.getByRole("row").filter({ hasText: mateEmail }).filter({ has: owner.locator("select") });
  await row.waitFor();
  await row.locator("select").selectOption("admin");
  await owner.locator(".toast").filter({ hasText: "Tom Teammate is now an admin" }).waitFor();
  await owner.getByRole("row").filter({ hasText: mateEmail }).locator("select").filter({ has: owner.locator("option[value=admin]:checked") }).waitFor();
  await owner.getByRole("button", { name: "Remove Tom Teammate" }).click();
  await screen(owner, "confirm-remove");
  await confirmDialog(owner, "Remove");
  await owner.getByRole("row").filter({ hasText: mateEmail }).waitFor({ state: "detached", timeout: TIMEOUT });

  // The rest of Organization Settings, each screen checked.
  for (const [link, heading, name] of [["General", "Organization Settings", "organization-general"], ["Install links", "Install links", "install-links"], ["Audit log", "Audit log", "audit-log"]]) {
    await owner.locator("#sidebar").getByRole("link", { name: link, exact: true }).click();
    await owner.getByRole("heading", { name: heading, exact: true, level: 1 }).waitFor();
    await screen(owner, name);
  }
  await owner.locator("table").filter({ hasText: "member.removed" }).waitFor();
  for (const [link, heading, name] of [["Profile", "Account Settings", "account"], ["New workspace", "New workspace", "new-workspace"]]) {
    await owner.locator("#sidebar").getByRole("link", { name: link, exact: true }).click();
    await owner.getByRole("heading", { name: heading, exact: true, level: 1 }).waitFor();
    await screen(owner, name);
  }
  // At a phone's width the sidebar folds behind Menu.
  await owner.setViewportSize({ width: 390, height: 800 });
  if (await owner.locator("#sidebar").isVisible()) throw new Error("the sidebar stays open at a phone's width");
  await press(owner, "Menu");
  await owner.locator("#sidebar").getByRole("link", { name: "Team" }).click();
  await owner.getByRole("heading", { name: "Team" }).waitFor();
  await screen(owner, "team-phone");
  const visitor = await person("visitor", { width: 390, height: 800 });
  await visitor.goto(base + "/reset-password");
  await visitor.getByRole("heading", { name: "Reset your password" }).waitFor();
  await screen(visitor, "reset-password-phone");
  return `org: ${org}\nteammate removed`;
});
