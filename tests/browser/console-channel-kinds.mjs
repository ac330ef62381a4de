// Notification channels of other kinds: an admin chooses the kind first
// (Slack), gets that kind's field, and adds a channel to the test's fake
// Slack receiver (no secret, no rotation); the test makes an org action and
// the delivery shows up delivered. Then an Email channel with two addresses,
// both awaiting confirmation; one follows its emailed link, signed out, and
// the confirmation page says it is confirmed; the list shows it so.
// Usage: node console-channel-kinds.mjs <base url> <admin email> <password> <org id> <slack receiver url>
import { walkthrough, screen, signIn, press, toastSays, emailedLink, assertTokenGone, ask } from "./lib.mjs";

const [base, email, password, org, slack] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("admin");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Notification channels" }).click();
  await page.getByRole("heading", { name: "Notification channels", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/notification-channels`)) throw new Error("not the org's channels: " + page.url());

  // The kind first: Webhook by default, with a URL; Email swaps it for addresses.
  const kinds = page.locator("#channel-kind");
  if (!(await kinds.getByLabel("Webhook", { exact: true }).isChecked())) throw new Error("Webhook is not the default kind");
  const urlField = page.locator("#create-channel input[name=url]");
  const emailsField = page.locator("#create-channel textarea[name=emails]");
  if (!(await urlField.isVisible()) || (await emailsField.isVisible())) throw new Error("a webhook takes a URL only");

  // Slack: its own URL field, no secret after adding, no rotation.
  await kinds.getByLabel("Slack", { exact: true }).check();
  await page.getByLabel("Slack webhook URL").waitFor();
  if (await emailsField.isVisible()) throw new Error("Slack shows the addresses field");
  await page.getByLabel("Slack webhook URL").fill(slack);
  await page.fill("#create-channel input[name=description]", "Team chat");
  await page.check("#event-invitation-created");
  await screen(page, "notification-channel-kind-slack");
  await press(page, "Add channel");
  await toastSays(page, "Slack channel added");
  if (await page.locator("#new-secret").count()) throw new Error("a Slack channel shows a signing secret");
  const masked = `${slack}/…`;
  const row = page.getByRole("row").filter({ hasText: "Team chat" });
  await row.filter({ hasText: "Slack" }).filter({ hasText: masked }).filter({ hasText: "Enabled" }).waitFor();
  if (await row.getByRole("button", { name: /Rotate secret/ }).count()) throw new Error("a Slack channel offers a secret rotation");
  if (!(await kinds.getByLabel("Slack", { exact: true }).isChecked())) throw new Error("the chosen kind was not kept");

  // An org action (the test invites someone): the receiver gets the message.
  const got = await ask("slack added");
  if (!got.startsWith("delivered")) throw new Error("the receiver: " + got);
  await page.getByRole("button", { name: `Deliveries to ${masked}` }).click();
  const deliveries = page.locator("#deliveries");
  const delivery = deliveries.getByRole("row").filter({ hasText: "invitation.created" });
  for (let i = 0; i < 40 && !(await delivery.filter({ hasText: "succeeded" }).count()); i++) {
    await page.waitForTimeout(500);
    await deliveries.getByRole("button", { name: "Refresh", exact: true }).click();
    await deliveries.getByRole("heading", { name: `Deliveries to ${masked}` }).waitFor();
  }
  await delivery.filter({ hasText: "succeeded" }).waitFor();
  await screen(page, "notification-channel-slack-delivered");

  // Email: addresses instead of a URL, each awaiting its confirmation.
  await kinds.getByLabel("Email", { exact: true }).check();
  await emailsField.waitFor();
  if (await urlField.isVisible()) throw new Error("Email shows the URL field");
  await emailsField.fill("oncall@example.org,\ncto@example.org");
  await page.fill("#create-channel input[name=description]", "On call");
  await page.check("#event-member-role_changed");
  await press(page, "Add channel");
  await toastSays(page, "confirmation link was sent to cto@example.org, oncall@example.org");
  const mailRow = page.getByRole("row").filter({ hasText: "On call" });
  const address = (who) => mailRow.getByRole("listitem").filter({ hasText: who });
  await address("oncall@example.org").filter({ hasText: "Awaiting confirmation" }).waitFor();
  await address("cto@example.org").filter({ hasText: "Awaiting confirmation" }).waitFor();
  if (await mailRow.getByRole("button", { name: /Rotate secret/ }).count()) throw new Error("an email channel offers a secret rotation");
  await screen(page, "notification-channel-email-added");

  // The address's owner follows the link, signed out.
  const link = await emailedLink(base, "oncall@example.org", "/confirm-channel-email");
  const inbox = await person("oncall");
  await inbox.goto(link);
  await inbox.getByRole("heading", { name: "Confirm notifications" }).waitFor();
  // Opening the link confirms nothing (mail scanners open links): a click does.
  await inbox.locator("#lead").filter({ hasText: "Nothing is sent to it until you confirm." }).waitFor();
  await inbox.getByRole("button", { name: "Confirm this address" }).click();
  await inbox.locator("#lead").filter({ hasText: "oncall@example.org is confirmed: it will receive Acme's notifications by email." }).waitFor();
  assertTokenGone(inbox);
  await screen(inbox, "confirm-channel-email");
  // A link that is not (or no longer) valid says so (a fresh load: only
  // the fragment differs from the page's address).
  await inbox.goto("about:blank");
  await inbox.goto(`${base}/confirm-channel-email#token=${"A".repeat(43)}`);
  await inbox.getByRole("button", { name: "Confirm this address" }).click();
  await inbox.locator("#lead").filter({ hasText: "not valid or has expired" }).waitFor();
  await inbox.goto(`${base}/confirm-channel-email`);
  await inbox.locator("#lead").filter({ hasText: "This link is incomplete" }).waitFor();

  // The admin's list shows it confirmed, the other still waiting.
  await page.reload();
  await address("oncall@example.org").filter({ hasText: "Confirmed" }).waitFor();
  await address("cto@example.org").filter({ hasText: "Awaiting confirmation" }).waitFor();
  return "channel kinds done";
});
