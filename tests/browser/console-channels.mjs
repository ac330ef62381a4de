// Organization Settings → Notification channels: add a channel (an event is
// required, an internal URL is refused under its field), the signing secret
// shown once, a test event and its delivery row with its attempts listed
// under it, a secret rotation (a new secret, once), disable, delete.
// Usage: node console-channels.mjs <base url> <email> <password> <org id> <receiver url>
import { walkthrough, screen, signIn, press, confirmDialog, assertNoStoredToken } from "./lib.mjs";

const [base, email, password, org, receiver] = process.argv.slice(2);

await walkthrough(async ({ person }) => {
  const page = await person("owner");
  await signIn(page, base, email, password);
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.locator("#sidebar").getByRole("link", { name: "Notification channels" }).click();
  await page.getByRole("heading", { name: "Notification channels", level: 1 }).waitFor();
  if (!page.url().endsWith(`/orgs/${org}/notification-channels`)) throw new Error("not the org's channels: " + page.url());
  await page.locator(".empty").filter({ hasText: "No notification channels yet" }).waitFor();
  await screen(page, "notification-channels");

  // No event picked: refused here, nothing sent.
  await page.fill("#create-channel input[name=url]", receiver);
  await page.fill("#create-channel input[name=description]", "Local receiver");
  await press(page, "Add channel");
  await page.locator("#events-error").filter({ hasText: "Pick at least one event." }).waitFor();
  // An internal host: the API's refusal shows under the URL field.
  await page.check("#event-member-added");
  await page.check("#event-member-removed");
  await page.fill("#create-channel input[name=url]", "https://localhost/hook");
  await press(page, "Add channel");
  const urlInput = page.locator("#create-channel input[name=url]");
  await page.locator("#create-channel input[name=url][aria-invalid=true]").waitFor();
  const describedBy = (await urlInput.getAttribute("aria-describedby")).split(" ").pop();
  const urlError = (await page.locator(`[id="${describedBy}"]`).textContent()).trim();
  if (!urlError) throw new Error("no error under the URL field");

  await page.fill("#create-channel input[name=url]", receiver);
  await press(page, "Add channel");
  await page.locator("#new-secret").waitFor();
  const secret = (await page.textContent("#new-secret")).trim();
  if (!secret.startsWith("whsec_")) throw new Error("not a secret: " + secret);
  await press(page, "Copy secret");
  if ((await page.evaluate(() => navigator.clipboard.readText())) !== secret) throw new Error("the clipboard does not hold the secret");
  const row = () => page.getByRole("row").filter({ hasText: receiver });
  await row().filter({ hasText: "member.added, member.removed" }).filter({ hasText: "Enabled" }).filter({ hasText: "Local receiver" }).waitFor();
  await screen(page, "notification-channel-created");
  await assertNoStoredToken(page);
  await press(page, "Done");
  if ((await page.textContent("body")).includes(secret)) throw new Error("the secret is still on the page");

  // A test event: its delivery is listed (pending, or already tried).
  await page.getByRole("button", { name: `Send test event to ${receiver}` }).click();
  const deliveries = page.locator("#deliveries");
  await deliveries.getByRole("heading", { name: `Deliveries to ${receiver}` }).waitFor();
  const delivery = deliveries.getByRole("row").filter({ hasText: "ping" });
  await delivery.waitFor();
  const status = (await delivery.locator(".badge").textContent()).trim();
  if (!["pending", "succeeded", "failed"].includes(status)) throw new Error("delivery status: " + status);
  // Its attempts are listed under it once the first is made (nothing
  // listens at the receiver: "no answer", with the error).
  const attempt = () => delivery.locator("li.attempt");
  for (let i = 0; i < 40 && !(await attempt().count()); i++) {
    await page.waitForTimeout(500);
    await deliveries.getByRole("button", { name: "Refresh", exact: true }).click();
    await deliveries.getByRole("heading", { name: `Deliveries to ${receiver}` }).waitFor();
  }
  const first = (await attempt().first().textContent()).trim();
  if (!first.includes("no answer")) throw new Error("the first attempt: " + first);
  if (!(await delivery.locator("details.attempts[open] summary").isVisible())) throw new Error("the attempts are not shown under the delivery");
  await screen(page, "notification-deliveries");

  // Rotate: a new secret, shown once, different from the first.
  if ((await page.inputValue(`#grace-${await channelId(page)}`)) !== "86400") throw new Error("the grace period is not 86400 by default");
  await page.getByRole("button", { name: `Rotate secret of ${receiver}` }).click();
  await confirmDialog(page, "Rotate secret");
  await page.locator("#secret-reveal").getByRole("heading", { name: `The new signing secret of ${receiver}` }).waitFor();
  const rotated = (await page.textContent("#new-secret")).trim();
  if (!rotated.startsWith("whsec_") || rotated === secret) throw new Error("rotation did not give a new secret: " + rotated);
  await press(page, "Done");

  // Disable: listed as such, and no test event can be sent to it.
  await page.getByRole("button", { name: `Disable ${receiver}` }).click();
  await row().filter({ hasText: "Disabled" }).waitFor();
  if (!(await page.getByRole("button", { name: `Send test event to ${receiver}` }).isDisabled())) throw new Error("a disabled channel offers a test event");

  // Delete, after a confirm; Cancel keeps it.
  await page.getByRole("button", { name: `Delete ${receiver}` }).click();
  await confirmDialog(page, "Cancel");
  await row().waitFor();
  await page.getByRole("button", { name: `Delete ${receiver}` }).click();
  await confirmDialog(page, "Delete");
  await page.locator(".empty").filter({ hasText: "No notification channels yet" }).waitFor();
  if ((await deliveries.textContent()).trim()) throw new Error("the deleted channel's deliveries are still shown");
  return `channels done (delivery ${status})`;
});

async function channelId(page) {
  const id = await page.locator("input.grace").first().getAttribute("id");
  return id.slice("grace-".length);
}
