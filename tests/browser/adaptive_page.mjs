// Watches the view page of a running adaptive explanation until it is finished: the confidence
// label next to the progress as the rounds come in, then the claim and the run's facts. Prints
// one JSON report on stdout:
//   node adaptive_page.mjs --base URL --key KEY --job ID --out DIR
import { join } from "node:path";
import { facts, keyReport, options, session } from "./browser.mjs";

const args = options({ base: { type: "string" }, key: { type: "string" }, job: { type: "string" }, out: { type: "string" } });
const TIMEOUT = 90000;

await session({ key: args.key, origin: new URL(args.base).origin, out: args.out, timeout: TIMEOUT }, async (page, seen) => {
  await page.goto(`${args.base}/explanations/${args.job}/view`);
  const report = { shown: await watch(page) };
  await page.waitForSelector('#view[data-stage="finished"] #result:not([hidden]) #heatmap [data-component]');
  report.final = await label(page);
  report.claim_facts = await facts(page, "#claim-facts");
  report.claim_summary = await page.textContent("#claim-summary");
  report.run = await facts(page, "#run-facts");
  report.screenshot = join(args.out, "view-adaptive.png");
  await page.screenshot({ path: report.screenshot, fullPage: true });
  return Object.assign(report, keyReport(seen, args.key), { errors: seen.errors });
});

async function label(page) {
  return page.evaluate(() => {
    const confidence = document.getElementById("confidence");
    return { stage: document.getElementById("view").dataset.stage || null, label: confidence.textContent,
      hidden: confidence.hidden, visible: confidence.getBoundingClientRect().width > 0,
      progress: document.getElementById("progress-text").textContent };
  });
}

/** Every state of the label the page showed (a new entry when it or the stage changed), until the end. */
async function watch(page) {
  const shown = [];
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const now = await label(page);
    const last = shown[shown.length - 1];
    if (now.stage && (!last || last.label !== now.label || last.stage !== now.stage || last.hidden !== now.hidden)) shown.push(now);
    if (["finished", "failed", "cancelled"].includes(now.stage)) break;
    await page.waitForTimeout(100);
  }
  return shown;
}
