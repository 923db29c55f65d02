// Watches the view page of a running explanation (live stage and progress), cancels it from the
// page, then opens the page of a failed one; prints one JSON report on stdout:
//   node progress_page.mjs --base URL --key KEY --running ID --failed ID --out DIR
import { join } from "node:path";
import { facts, keyReport, options, session } from "./browser.mjs";

const args = options({
  base: { type: "string" }, key: { type: "string" }, running: { type: "string" }, failed: { type: "string" },
  out: { type: "string" },
});
const TIMEOUT = 60000;
const DISTINCT_PROGRESS = 3; // the page must have shown the count move at least twice

await session({ key: args.key, origin: new URL(args.base).origin, out: args.out, timeout: TIMEOUT }, async (page, seen) => {
  await page.goto(`${args.base}/explanations/${args.running}/view`);
  const report = { running: await watchProgress(page) };
  report.running_screenshot = join(args.out, "view-running.png");
  await page.screenshot({ path: report.running_screenshot, fullPage: true });
  report.cancelled = await cancel(page);
  await page.goto(`${args.base}/explanations/${args.failed}/view`);
  report.failed = await failure(page);
  return Object.assign(report, keyReport(seen, args.key), { errors: seen.errors });
});

/** What the page showed while the job ran: stages, progress texts and bar values, as they changed. */
async function watchProgress(page) {
  const shown = [];
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline && new Set(shown.map((s) => s.text)).size < DISTINCT_PROGRESS) {
    const now = await page.evaluate(() => ({
      stage: document.getElementById("view").dataset.stage || null,
      text: document.getElementById("progress-text").textContent,
      value: document.getElementById("progress").value,
      current: document.querySelector(".stages li.current")?.dataset.stage || null,
      cancel_visible: !document.getElementById("cancel").hidden,
      confidence: document.getElementById("confidence").textContent,
      confidence_hidden: document.getElementById("confidence").hidden,
    }));
    if (now.stage && (!shown.length || shown[shown.length - 1].text !== now.text)) shown.push(now);
    await page.waitForTimeout(200);
  }
  return shown;
}

async function cancel(page) {
  page.once("dialog", (dialog) => dialog.accept());
  await page.click("#cancel");
  await page.waitForSelector('#view[data-stage="cancelled"] #cancelled:not([hidden])');
  return { text: await page.textContent("#cancelled"), cancel_visible: await page.isVisible("#cancel"),
    result_visible: await page.isVisible("#result") };
}

async function failure(page) {
  await page.waitForSelector('#view[data-stage="failed"] #failed:not([hidden])');
  const shown = await page.evaluate(() => ({
    title: document.getElementById("error-title").textContent,
    detail: document.getElementById("error-detail").textContent,
    failed_chip: document.querySelector(".stages li.failed")?.dataset.stage || null,
    result_visible: !document.getElementById("result").hidden,
  }));
  return { ...shown, facts: await facts(page, "#error-facts") };
}
