// Join links in the console: an owner creates a link restricted to their
// domain in Organization Settings → Team and copies it; a colleague opens
// it in their own browser, signs up through it, verifies their address from
// the email, and lands in the org. Every screen gets an axe check and a
// screenshot.
// Usage: node join.mjs <base url> <owner email> <colleague email> <password> <org id>
// Prints "joined: <team screen text>".
import { walkthrough, screen, signIn, press, emailedLink, assertTokenGone, toastSays } from "./lib.mjs";

const [base, ownerEmail, mateEmail, password, org] = process.argv.slice(2);
const domain = ownerEmail.split("@")[1];

await walkthrough(async ({ person }) => {
  const owner = await person("owner");
  await signIn(owner, base, ownerEmail, password);
  await owner.locator("#sidebar").getByText("Organization Settings").waitFor();
  await owner.goto(`${base}/orgs/${org}/team`);
  await owner.getByRole("heading", { name: "Join links" }).waitFor();
  await owner.fill("#create-join-link input[name=domains]", `*.${domain}`);
  await press(owner, "Create join link");
  await owner.locator("#create-join-link .field-error").filter({ hasText: /exact domain/i }).waitFor();
  await owner.fill("#create-join-link input[name=domains]", domain);
  await owner.fill("#create-join-link input[name=max_uses]", "5");
  await press(owner, "Create join link");
  const url = (await owner.locator("#join-url").textContent()).trim();
  if (!url.includes("/join#token=")) throw new Error("not a join link: " + url);
  await owner.getByRole("table", { name: "Join links" }).getByText("0 of 5").waitFor();
  await screen(owner, "team-join-links");

  const mate = await person("colleague");
  await mate.goto(url);
  await mate.locator("#lead").filter({ hasText: `as member. Addresses on ${domain} only.` }).waitFor();
  assertTokenGone(mate);
  await screen(mate, "join-link");
  await mate.fill("#signup input[name=email]", mateEmail);
  await mate.fill("#signup input[name=name]", "Colin Colleague");
  await mate.fill("#signup input[name=password]", password);
  await press(mate, "Sign up and join");
  await mate.locator("#check-email").waitFor();
  await screen(mate, "join-check-email");
  await mate.goto(await emailedLink(base, mateEmail, "/verify-email"));
  await mate.fill("#verify input[name=password]", password);
  await press(mate, "Verify");
  await toastSays(mate, "is verified");
  await mate.goto(`${base}/orgs/${org}/team`);
  await mate.getByRole("heading", { name: "Team" }).waitFor();
  const members = mate.getByRole("table", { name: "Members" });
  await members.getByText(mateEmail).waitFor();
  await screen(mate, "joined-team");

  await owner.reload();
  await owner.getByRole("table", { name: "Join links" }).getByText("1 of 5").waitFor();
  return "joined: " + (await members.textContent());
});
