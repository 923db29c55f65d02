// Submits an explanation through the index page's form in headless Chromium, follows it to its
// view page until it is finished, and prints one JSON report on stdout:
//   node index_page.mjs --base URL --key KEY --tagger URL --audio mix.wav --stem bass.wav --stem … --out DIR
// First it submits without stems (a problem the page must show), then with them.
import { join } from "node:path";
import { keyReport, options, session } from "./browser.mjs";

const args = options({
  base: { type: "string" }, key: { type: "string" }, tagger: { type: "string" }, audio: { type: "string" },
  stem: { type: "string", multiple: true }, out: { type: "string" },
});
const TIMEOUT = 60000;

// No key in storage: it goes in through the page's form.
await session({ key: null, out: args.out, timeout: TIMEOUT }, async (page, seen) => {
  await page.goto(`${args.base}/`);
  await page.waitForSelector("#jobs-problem:not([hidden])"); // no key yet: the lists are refused (401)
  await page.waitForSelector("#studies-problem:not([hidden])");
  const keyless = seen.requests.length;
  const report = { keyless_problem: await page.textContent("#jobs-problem") };
  report.key_status = await enterKey(page, args.key);
  report.sampling_default = await samplingFields(page); // as the page opens: adaptive
  await fillForm(page);
  report.sampling_fixed = await samplingFields(page);
  report.problem = await submitExpectingProblem(page);
  await page.setInputFiles("#stems", args.stem);
  report.index_screenshot = join(args.out, "index-page.png");
  await page.screenshot({ path: report.index_screenshot, fullPage: true });
  await page.click("#submit");
  await page.waitForURL(/\/explanations\/[0-9a-f]+\/view$/);
  report.view_url = page.url();
  report.stages = await followToTheEnd(page);
  report.final_stage = await page.getAttribute("#view", "data-stage");
  report.heatmap_cells = await page.locator("#heatmap [data-component]").count();
  report.claim_summary = await page.textContent("#claim-summary");
  await page.goto(`${args.base}/`);
  await page.waitForSelector("#jobs tbody tr");
  report.listed = await page.$$eval("#jobs tbody tr", (rows) => rows.map((r) => ({
    id: r.dataset.jobId, stage: r.cells[1].textContent, href: r.querySelector("a").getAttribute("href") })));
  report.stored_key = await page.evaluate(() => ({ local: localStorage.getItem("audiolime.apiKey"), session: sessionStorage.getItem("audiolime.apiKey") }));
  return Object.assign(report, keyReport(seen, args.key, keyless), { errors: seen.errors.filter((e) => !isExpected(e)) });
});

async function enterKey(page, key) {
  await page.fill("#api-key", key);
  await page.click('#key-form button[type="submit"]');
  await page.waitForSelector("#jobs-empty:not([hidden])"); // the lists, fetched again with the key
  await page.waitForSelector("#studies-empty:not([hidden])");
  return page.textContent("#key-status");
}

async function fillForm(page) {
  await page.setInputFiles("#audio", args.audio);
  await page.selectOption("#separator", "provided");
  await page.fill("#segments", "4");
  await page.fill("#tagger-url", args.tagger);
  await page.selectOption("#protocol", "json");
  await page.fill("#sample-rate", "16000");
  await page.check('input[name="targets"][value="tags"]');
  await page.fill("#tags", "low, mid");
  await page.check('input[name="sampling"][value="fixed"]'); // a fixed run: #samples opens, #max-samples closes
  await page.fill("#samples", "128");
  await page.fill("#confidence", "0.9");
  await page.fill("#claim-k", "2");
  await page.selectOption("#claim", "tolerant");
  await page.selectOption("#estimator", "adjusted");
}

/** Which sampling choice is checked, and which of its number fields are open. */
async function samplingFields(page) {
  return page.evaluate(() => ({
    strategy: document.querySelector('input[name="sampling"]:checked').value,
    samples_disabled: document.getElementById("samples").disabled,
    max_samples_disabled: document.getElementById("max-samples").disabled,
    confidence: document.getElementById("confidence").value,
  }));
}

/** Separator "provided" with no stems: the API's 422 problem, shown on the page. */
async function submitExpectingProblem(page) {
  await page.click("#submit");
  await page.waitForSelector("#submit-problem:not([hidden])");
  return { text: await page.textContent("#submit-problem"), title: await page.textContent("#submit-problem strong"), url: page.url() };
}

/** Every stage the view page showed, in order, until the job ended. */
async function followToTheEnd(page) {
  const stages = [];
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const stage = await page.getAttribute("#view", "data-stage");
    if (stage && stages[stages.length - 1] !== stage) stages.push(stage);
    if (["finished", "failed", "cancelled"].includes(stage)) {
      if (stage === "finished") await page.waitForSelector("#result:not([hidden]) #heatmap [data-component]");
      break;
    }
    await page.waitForTimeout(100);
  }
  return stages;
}

// Chromium logs the lists refused before the key was entered, and the deliberate bad submission.
function isExpected(error) {
  return /status of (401|422)|^HTTP (401|422): /.test(error);
}
