// What every browser scenario shares: Debian's Chromium launched headless by
// playwright-core, one page that records script errors, the screenshot, and
// the exit status the Rust test reads (tests/support: `browser`).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const TIMEOUT = 10000;

// Runs `scenario(page)` in a fresh browser; what it returns is printed on
// success. Page errors fail the run; so does anything the scenario throws
// (the message goes to stderr, the exit status is 1). A screenshot of the
// final page goes to `shot` when given.
export async function run(shot, scenario) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS });
  let failed = null;
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const said = await scenario(page);
    if (errors.length) throw new Error("page errors: " + errors.join("; "));
    if (shot) await page.screenshot({ path: shot });
    console.log(said);
  } catch (e) {
    failed = e;
  } finally {
    await browser.close();
    stdin?.close();
  }
  if (failed) {
    console.error(String(failed));
    process.exit(1);
  }
}

// Waits until `selector` shows `text` (a string or a RegExp).
export async function waitForText(page, selector, text) {
  await page.locator(selector).filter({ hasText: text }).waitFor({ timeout: TIMEOUT });
}

// Waits until `selector` is visible.
export async function waitVisible(page, selector) {
  await page.locator(selector).waitFor({ state: "visible", timeout: TIMEOUT });
}

// Fills `form`'s fields ({name: value}) and submits it with its button.
export async function submit(page, form, fields) {
  for (const [name, value] of Object.entries(fields)) await page.fill(`${form} input[name=${name}]`, value);
  await page.click(`${form} button`);
}

// A page opened from an emailed link must drop the token from the address bar.
export function assertTokenGone(page) {
  if (page.url().includes("token=")) throw new Error("the token stayed in the address bar");
}

// Asks the test that started this script: prints `question` on a line of
// its own and resolves to the next line of standard input.
let stdin = null;
export async function ask(question) {
  stdin ??= createInterface({ input: process.stdin });
  const answer = new Promise((resolve, reject) => {
    stdin.once("line", resolve);
    stdin.once("close", () => reject(new Error("no answer to " + question)));
  });
  console.log(question);
  return (await answer).trim();
}
