// Account Settings → Security → Sessions, and Organization Settings →
// General → Transfer ownership, in the console. The owner is signed in in two
// browsers; from the first, every other session is signed out one by one
// (the second browser is thrown out on its next load), ownership goes to the
// admin, then "Sign out everywhere" ends the first browser's session too.
// Usage: node console-sessions.mjs <base url> <owner email> <password> <new owner's email>
import { walkthrough, screen, signIn, press, confirmDialog } from "./lib.mjs";

const [base, email, password, heir] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const here = await person("owner, first browser");
  const there = await person("owner, second browser");
  for (const page of [here, there]) {
    await signIn(page, base, email, password);
    await page.getByRole("heading", { name: "Team", level: 1 }).waitFor();
  }

  await here.locator("#sidebar").getByRole("link", { name: "Security" }).click();
  await here.getByRole("heading", { name: "Security", level: 1 }).waitFor();
  const others = here.getByRole("button", { name: /^Sign out the session signed in / });
  await others.first().waitFor();
  const before = await others.count();
  if (before < 2) throw new Error(`expected the other browser's and the test's sessions, saw ${before}`);
  await screen(here, "sessions");
  for (let left = before; left > 0; left--) {
    await others.first().click();
    await confirmDialog(here, "Sign out");
    await here.locator(".toast").filter({ hasText: "Session signed out" }).last().waitFor();
    await here.waitForFunction(
      (n) => document.querySelectorAll("button[aria-label^='Sign out the session signed in ']").length === n,
      left - 1,
    );
  }
  console.log(`signed out ${before} other sessions`);

  // The second browser's session ended on the server: a reload finds no
  // session behind its refresh cookie and shows the sign-in screen.
  await there.reload();
  await there.locator("#signin").waitFor();
  console.log("the other browser is signed out");

  // Transfer ownership to the admin.
  await here.locator("#sidebar").getByRole("link", { name: "General", exact: true }).click();
  await here.getByRole("heading", { name: "Transfer ownership" }).waitFor();
  const option = here.locator("#transfer select[name=user_id] option").filter({ hasText: heir });
  await here.selectOption("#transfer select[name=user_id]", await option.getAttribute("value"));
  await press(here, "Transfer ownership", "#transfer");
  await confirmDialog(here, "Transfer ownership");
  await here.locator(".toast").filter({ hasText: "Ownership transferred" }).waitFor();
  // Now an admin: the owner-only sections are gone.
  await here.getByRole("heading", { name: "Transfer ownership" }).waitFor({ state: "detached" });
  await screen(here, "general-after-transfer");
  console.log("ownership transferred");

  // Sign out everywhere: this browser too.
  await here.locator("#sidebar").getByRole("link", { name: "Security" }).click();
  await press(here, "Sign out everywhere");
  await confirmDialog(here, "Sign out everywhere");
  await here.locator("#signin").waitFor();
  await here.reload();
  await here.locator("#signin").waitFor();
  console.log("sessions done");
});
