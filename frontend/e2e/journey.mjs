// The web app end to end in Chromium, against a running stack (tests/integration/test_web_e2e.py
// starts it and runs this): register -> sign in -> deposit -> market buy -> the holding ->
// a limit order -> cancel it -> a limit order filled by the feed -> withdraw -> log out,
// asserting what the user sees; a screenshot of every page at desktop and phone width; axe
// on every page. Talks to its runner on stdout/stdin ("@@pause" -> "ok") to steer the feed.
//
//   BASE_URL=http://127.0.0.1:8000 node e2e/journey.mjs
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const SHOTS = process.env.SCREENSHOTS ?? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const WAIT_MS = 15_000;
const BITCOIN = /^Bitcoin btc$/i; // its row in the markets, not Bitcoin Cash's
const AXE = readFileSync(fileURLToPath(import.meta.resolve("axe-core/axe.min.js")), "utf8");
// Chromium on a closed network: no first-run, sync, component or background connections
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(command) {
  console.log(`@@${command}`);
  const { value, done } = await replies.next();
  if (done || value.trim() !== "ok") throw new Error(`the runner did not do ${command}: ${value}`);
}

const step = (what) => console.log(`- ${what}`);
const violations = [];
let axeRuns = 0;
let minorFindings = 0;

async function check(page, name) {
  // axe at both widths, CSP untouched: evaluated through the devtools protocol, not injected
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    await page.evaluate(AXE);
    const found = await page.evaluate(async () => (await window.axe.run(document)).violations);
    axeRuns += 1;
    minorFindings += found.filter((v) => v.impact !== "serious" && v.impact !== "critical").length;
    for (const v of found.filter((v) => v.impact === "serious" || v.impact === "critical")) {
      violations.push(`${name} @${size.width}px: ${v.id} (${v.impact}): ${v.help} - ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    }
    await page.screenshot({ path: `${SHOTS}/${name}-${size === DESKTOP ? "desktop" : "phone"}.png`, fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

async function seen(locator) {
  await locator.first().waitFor({ state: "visible", timeout: WAIT_MS });
}

async function navigate(page, name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
  await seen(page.getByRole("heading", { level: 1 }));
}

async function placeOrder(page, { side, kind, quantity, price }) {
  await page.getByRole("radio", { name: side }).check();
  await page.getByRole("radio", { name: kind }).check();
  await page.getByLabel("Quantity").fill(quantity);
  if (price) await page.getByLabel("Limit price (USD)").fill(price);
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/v1/orders") && r.request().method() === "POST");
  await page.getByRole("button", { name: new RegExp(`^${side} `, "i") }).click();
  const response = await answer;
  if (response.status() !== 201) throw new Error(`order refused: ${response.status()} ${await response.text()}`);
  return (await response.json()).data;
}

async function marketPrice(page, assetId) {
  const response = await page.request.get(`${BASE}/api/v1/inventory/assets/${assetId}`);
  return Number((await response.json()).data.price_usd); // test input only: never shown
}

async function journey(page) {
  const username = `web${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const password = "Correct-Horse-42!";

  step("an unknown visitor is sent to sign in");
  await page.goto(BASE + "/");
  await seen(page.getByRole("heading", { name: "Sign in" }));
  await check(page, "login");

  step("register");
  await page.getByRole("link", { name: "Create an account" }).click();
  await seen(page.getByRole("heading", { name: "Create an account" }));
  await check(page, "register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Email").fill(`${username}@example.com`);
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("First name").fill("Web");
  await page.getByLabel("Last name").fill("Tester");
  await page.getByRole("button", { name: "Create account" }).click();
  await seen(page.getByRole("status").filter({ hasText: "Your account is ready" }));

  step("a wrong password shows the server's detail; the right one signs in");
  await page.getByLabel("Password").fill("Wrong-Password-1!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await seen(page.getByRole("alert"));
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await seen(page.getByRole("heading", { name: "Dashboard" }));
  await seen(page.getByTestId("cash").filter({ hasText: "$0.00" }));

  step("deposit");
  await navigate(page, "Deposit & withdraw");
  await page.getByLabel("Amount to deposit (USD)").fill("5000.001");
  await page.getByRole("button", { name: "Deposit", exact: true }).click();
  await seen(page.getByText("Use at most 2 decimal places."));
  await page.getByLabel("Amount to deposit (USD)").fill("5000.00");
  await page.getByRole("button", { name: "Deposit", exact: true }).click();
  await seen(page.getByRole("status").filter({ hasText: "Deposited $5,000.00" }));
  await seen(page.getByTestId("balance").filter({ hasText: "$5,000.00" }));

  step("markets: a price changes without a reload; search");
  await navigate(page, "Markets");
  await seen(page.getByText("Live prices", { exact: true }));
  const btc = page.getByTestId("price-BTC");
  await seen(btc);
  const before = await btc.textContent();
  await page.waitForFunction(
    (was) => document.querySelector('[data-testid="price-BTC"]')?.textContent !== was, before, { timeout: WAIT_MS });
  await check(page, "markets");
  const rows = page.getByRole("region", { name: "Assets" }).getByRole("row");
  const everything = await rows.count();
  await page.getByLabel("Search assets").fill("bitcoin");
  await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length < n, everything);
  for (const text of await page.locator("tbody tr").allTextContents())
    if (!/bitcoin/i.test(text)) throw new Error(`the search for bitcoin left: ${text}`);

  step("the order ticket checks what the server would refuse");
  await page.getByRole("link", { name: BITCOIN }).click();
  await seen(page.getByRole("heading", { name: /Bitcoin/ }));
  await page.getByLabel("Quantity").fill("0.0001");
  await page.getByRole("button", { name: "Buy BTC" }).click();
  await seen(page.getByText("The quantity must be at least 0.001."));
  await page.getByLabel("Quantity").fill("10");
  await seen(page.getByText("The order's value must be at most $10,000.00."));
  await page.getByRole("radio", { name: "Limit" }).check();
  await seen(page.getByText("Enter a limit price."));

  step("market buy, and the holding");
  await placeOrder(page, { side: "Buy", kind: "Market", quantity: "0.01" });
  await seen(page.getByRole("status").filter({ hasText: "Order completed: 0.01 BTC" }));
  await seen(page.getByTestId("held-quantity").filter({ hasText: /^0\.01$/ }));
  await seen(page.getByRole("region", { name: "Your trades in BTC" }).getByRole("row", { name: /buy\s+0\.01/i }));
  await check(page, "asset");
  await navigate(page, "Dashboard");
  await seen(page.getByRole("region", { name: "Holdings" }).getByRole("row", { name: /Bitcoin\s+0\.01/ }));
  await check(page, "dashboard");

  step("a limit order, cancelled");
  await page.getByRole("link", { name: "Bitcoin" }).click();
  const low = (Math.floor((await marketPrice(page, "BTC")) * 0.5 * 100) / 100).toFixed(2);
  const resting = await placeOrder(page, { side: "Buy", kind: "Limit", quantity: "0.01", price: low });
  await seen(page.getByRole("status").filter({ hasText: "Limit order placed" }));
  await navigate(page, "Orders");
  const row = page.locator(`tr[data-order-id="${resting.order_id}"]`).first();
  await seen(row.filter({ hasText: "queued" }));
  await check(page, "orders");
  await row.getByRole("button", { name: /^Cancel/ }).click();
  await seen(page.getByRole("status").filter({ hasText: "cancelled" }));
  await seen(page.locator(`tr[data-order-id="${resting.order_id}"]`).filter({ hasText: "cancelled" }));

  step("a limit order fills by itself, seen without a reload");
  await ask("pause");
  await navigate(page, "Markets");
  await page.getByRole("link", { name: BITCOIN }).click();
  const limit = (Math.floor((await marketPrice(page, "BTC")) * 0.9 * 100) / 100).toFixed(2);
  const waiting = await placeOrder(page, { side: "Buy", kind: "Limit", quantity: "0.01", price: limit });
  await navigate(page, "Orders");
  await seen(page.locator(`tr[data-order-id="${waiting.order_id}"]`).filter({ hasText: "queued" }));
  await ask(`publish BTC ${(Number(limit) * 0.99).toFixed(2)}`);
  await seen(page.locator(`tr[data-order-id="${waiting.order_id}"]`).filter({ hasText: "completed" }));
  await ask("resume");

  step("a withdrawal the balance cannot cover shows the server's detail; one it can is done");
  await navigate(page, "Deposit & withdraw");
  await page.getByLabel("Amount to withdraw (USD)").fill("999999.00");
  await page.getByRole("button", { name: "Withdraw", exact: true }).click();
  await seen(page.getByRole("alert").filter({ hasText: /insufficient|not enough|available/i }));
  await page.getByLabel("Amount to withdraw (USD)").fill("100.00");
  await page.getByRole("button", { name: "Withdraw", exact: true }).click();
  await seen(page.getByRole("status").filter({ hasText: "Withdrew $100.00" }));
  await check(page, "wallet");

  step("transactions, portfolio, profile");
  await navigate(page, "Transactions");
  await seen(page.getByRole("region", { name: "Transactions" }).getByRole("row", { name: /deposit/i }));
  await check(page, "transactions");
  await navigate(page, "Portfolio");
  await seen(page.getByRole("region", { name: "Holdings" }).getByRole("row", { name: /Bitcoin\s+0\.02/ }));
  await check(page, "portfolio");
  await navigate(page, "Profile");
  await page.getByLabel("First name").fill("Webby");
  await page.getByRole("button", { name: "Save profile" }).click();
  await seen(page.getByRole("status").filter({ hasText: "Profile saved." }));
  await check(page, "profile");

  step("the phone menu opens with the keyboard");
  await page.setViewportSize(PHONE);
  await page.getByRole("button", { name: "Menu" }).focus();
  await page.keyboard.press("Enter");
  await seen(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Markets" }));
  await page.setViewportSize(DESKTOP);

  step("log out");
  await page.getByRole("button", { name: "Log out" }).click();
  await seen(page.getByRole("heading", { name: "Sign in" }));
  await page.goto(BASE + "/orders");
  await seen(page.getByRole("heading", { name: "Sign in" }));
}

mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
let failed = false;
try {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  try {
    await journey(page);
  } catch (error) {
    const shot = `${tmpdir()}/op-e2e-failure.png`;
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.error(`the page at the failure: ${shot} (${page.url()})`);
    throw error;
  }
  const cspErrors = errors.filter((e) => /Content Security Policy/i.test(e));
  if (cspErrors.length) throw new Error(`the CSP blocked something:\n${cspErrors.join("\n")}`);
  if (violations.length) throw new Error(`axe found serious or critical violations:\n${violations.join("\n")}`);
  console.log(`axe: ${axeRuns} page checks, no serious or critical violation (${minorFindings} minor or moderate)`);
  console.log("journey passed");
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
