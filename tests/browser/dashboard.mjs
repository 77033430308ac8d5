// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
// driven by npm playwright-core; no browser download). Run by
// tests/suite/web_browser.rs, which starts the agent and reads the JSON
// this prints as its last line. Environment: BASE_URL (the agent),
// TOKEN (API_TOKEN), BASE (the base's name), SHOTS (folder for the
// screenshots), NODE_DIR (where playwright-core is installed).
import { createRequire } from "node:module";
import path from "node:path";
import fs from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE_URL = env("BASE_URL"), TOKEN = env("TOKEN"), BASE = env("BASE"), SHOTS = env("SHOTS");
const require = createRequire(path.join(env("NODE_DIR"), "package.json"));
const { chromium } = require("playwright-core");

const out = { steps: [], requests: 0, foreign: [], shots: [] };
const origin = new URL(BASE_URL).host;
fs.mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ru-RU" });
  const page = await ctx.newPage();
  // Every request the page makes, whatever its kind.
  page.on("request", (r) => {
    out.requests++;
    const u = new URL(r.url());
    if (!(u.protocol === "data:" || u.protocol === "blob:" || u.host === origin)) out.foreign.push(r.url());
  });
  out.console = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") out.console.push(m.text()); });
  page.on("pageerror", (e) => out.console.push(String(e)));
  const shot = async (name) => {
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    out.shots.push(`${name}.png`);
  };
  const card = `section[data-base="${BASE}"]`;

  // 1. The overview: the base and its last result.
  let r = await page.goto(BASE_URL + "/");
  out.overview_status = r.status();
  await page.waitForSelector(card, { timeout: 10000 });
  out.base_seen = true;
  out.last_result = await page.$eval(`${card} .badge`, (b) => b.className);
  await shot("overview");
  out.steps.push("overview");

  // 2. Log in (the screenshot is taken before the token is typed).
  await page.goto(BASE_URL + "/login");
  await shot("login");
  await page.fill("input[name=token]", TOKEN);
  await Promise.all([page.waitForURL(BASE_URL + "/"), page.click("form[action='/login'] button[type=submit]")]);
  out.cookie_http_only = (await ctx.cookies()).every((c) => c.httpOnly && c.sameSite === "Strict");
  out.token_in_storage = await page.evaluate(
    (t) => JSON.stringify(localStorage).includes(t) || JSON.stringify(sessionStorage).includes(t) || document.cookie.includes(t),
    TOKEN,
  );
  out.steps.push("login");

  // 3. Back up now, the confirm step, then live progress without a reload.
  await Promise.all([page.waitForURL(/\/actions\/backup$/), page.click(`${card} form[action='/actions/backup'] button`)]);
  await shot("confirm");
  await Promise.all([page.waitForURL(BASE_URL + "/"), page.click("#confirm")]);
  out.steps.push("confirmed");
  let navigations = 0;
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations++; });
  await page.evaluate(() => {
    window.__mark = "same page";
    window.__stages = [];
    new MutationObserver(() => {
      const l = document.querySelector(".live");
      const s = l && (l.getAttribute("data-state") + ":" + l.getAttribute("data-stage"));
      if (s && window.__stages[window.__stages.length - 1] !== s) window.__stages.push(s);
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.waitForSelector(`${card} .live[data-state=running]`, { timeout: 30000 });
  await shot("progress");
  await page.waitForSelector(`${card} .live[data-state=done]`, { timeout: 120000 });
  out.done_status = await page.$eval(`${card} .live`, (l) => l.getAttribute("data-status"));
  out.run_id = await page.$eval(`${card} .live`, (l) => Number(l.getAttribute("data-run-id")));
  out.stages = await page.evaluate(() => window.__stages);
  out.same_page = (await page.evaluate(() => window.__mark)) === "same page" && navigations === 0;
  out.card_after = await page.$eval(`${card} .badge`, (b) => b.className);
  await shot("done");
  out.steps.push("progress");

  // 4. The new run in the history, and its page.
  r = await page.goto(BASE_URL + "/history");
  out.history_status = r.status();
  out.in_history = (await page.$(`a[href="/runs/${out.run_id}"]`)) !== null;
  await shot("history");
  r = await page.goto(`${BASE_URL}/runs/${out.run_id}`);
  out.run_status = r.status();
  await shot("run");
  r = await page.goto(BASE_URL + "/charts");
  out.charts_status = r.status();
  await shot("charts");
  out.steps.push("history");
  out.ok = true;
} catch (e) {
  out.ok = false;
  try { out.html = (await browser.contexts()[0].pages()[0].content()).slice(0, 4000); } catch (_) {}
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
