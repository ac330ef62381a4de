// Join links in the console: an owner creates a link restricted to their
// domain in Organization Settings → Team and copies it; a colleague opens
// it in their own browser, signs up through it, verifies their address from
// the email, and lands in the org. Every screen gets an axe check and a
// screenshot.
// Then a link that needs approval: a second colleague with an account signs
// in on its page and asks to join; the owner approves them under Requests.
// Usage: node join.mjs <base url> <owner email> <colleague email> <password> <org id> <second colleague email>
// Prints "joined: <team screen text>" and "approved: <email>".
import { walkthrough, screen, signIn, press, emailedLink, assertTokenGone, toastSays } from "./lib.mjs";

const [base, ownerEmail, mateEmail, password, org, askerEmail] = process.argv.slice(2);
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
  const joined = "joined: " + (await members.textContent());

  await owner.check("#create-join-link input[name=approval]");
  await owner.fill("#create-join-link input[name=domains]", "");
  await owner.fill("#create-join-link input[name=max_uses]", "");
  await press(owner, "Create join link");
  await owner.getByRole("table", { name: "Join links" }).getByText("0 (approval)").waitFor();
  const askUrl = (await owner.locator("#join-url").textContent()).trim();
  const asker = await person("asker");
  await asker.goto(askUrl);
  await asker.locator("#lead").filter({ hasText: "An admin approves each request." }).waitFor();
  await asker.fill("#signin input[name=email]", askerEmail);
  await asker.fill("#signin input[name=password]", password);
  await asker.click("#signin button[type=submit]");
  await asker.locator("#request-sent").waitFor();
  await screen(asker, "join-request-sent");
  await owner.reload();
  const requests = owner.getByRole("table", { name: "Membership requests" });
  await requests.getByText(askerEmail).waitFor();
  await screen(owner, "team-requests");
  await owner.getByRole("button", { name: `Approve ${askerEmail}` }).click();
  await toastSays(owner, `${askerEmail} joined as member`);
  await owner.getByRole("table", { name: "Members" }).getByText(askerEmail).waitFor();
  return joined + "\napproved: " + askerEmail;
});
