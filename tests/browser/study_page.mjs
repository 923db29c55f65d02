// Opens a study's page in headless Chromium while the study runs, follows its progress to the end,
// reads what the page shows (the figure, the per-tag tables, the clips and their links), follows a
// clip's link to its listening page, then finds the study in the index page's list; prints one
// JSON report on stdout:
//   node study_page.mjs --base URL --key KEY --study ID --out DIR
import { join } from "node:path";
import { keyReport, options, session } from "./browser.mjs";

const args = options({ base: { type: "string" }, key: { type: "string" }, study: { type: "string" }, out: { type: "string" } });
const TIMEOUT = 180000;
const ENDED = ["finished", "failed", "cancelled"];

await session({ key: args.key, origin: args.base, out: args.out, timeout: TIMEOUT }, async (page, seen) => {
  const studyPage = `${args.base}/studies/${args.study}/view`;
  await page.goto(studyPage);
  const report = { progress: await followToTheEnd(page) };
  await page.waitForSelector('#figure:is([data-state="ready"], [data-state="error"])');
  report.figure = await figure(page);
  report.summary = await page.textContent("#report-summary");
  report.facts = await page.$$eval("#study-facts dt", (terms) => Object.fromEntries(terms.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  report.tags = await page.$$eval("section.study-tag", (sections) => sections.map((section) => {
    const rows = (selector) => [...section.querySelectorAll(`${selector} tbody tr`)].map((tr) => [...tr.cells].map((td) => td.textContent));
    return {
      tag: section.dataset.tag, heading: section.querySelector(".tag-heading").textContent,
      source_shares: rows(".source-shares"), segment_shares: rows(".segment-shares"),
      top_components: rows(".top-components"), faithfulness: rows(".faithfulness"),
      verified_visible: !section.querySelector(".verified").hidden, verified: rows(".verified"),
    };
  }));
  report.failed_visible = await page.isVisible("#failed-section");
  report.failed = await page.$$eval("#failed-clips tbody tr", (rows) => rows.map((tr) => ({
    clip: tr.cells[0].textContent, error: tr.cells[1].textContent, href: tr.querySelector("a")?.getAttribute("href") ?? null })));
  report.clips = await clipRows(page);
  report.screenshot = join(args.out, "study-page.png");
  await page.screenshot({ path: report.screenshot, fullPage: true });

  // A clip's link opens its explanation's listening page, finished, with its heat map.
  const first = report.clips.find((clip) => clip.status === "finished");
  await Promise.all([page.waitForURL(/\/explanations\/[0-9a-f]+\/view$/), page.click(`#clips a.explanation[data-job-id="${first.explanation_id}"]`)]);
  await page.waitForSelector('#view[data-stage="finished"] #heatmap [data-component]');
  report.opened = { url: page.url(), job: await page.getAttribute("#view", "data-job-id"),
                    cells: await page.locator("#heatmap [data-component]").count() };
  await page.goBack();
  await page.waitForSelector('#figure[data-state="ready"]');
  report.back = page.url();

  await page.goto(`${args.base}/`);
  await page.waitForSelector("#studies tbody tr");
  report.listed = await page.$$eval("#studies tbody tr", (rows) => rows.map((tr) => ({
    id: tr.dataset.studyId, status: tr.cells[1].textContent, progress: tr.cells[2].textContent.trim(),
    href: tr.querySelector("a").getAttribute("href") })));
  return Object.assign(report, keyReport(seen, args.key), { errors: seen.errors });
});

/** Every distinct state the progress section showed until the study ended. */
async function followToTheEnd(page) {
  const states = [];
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const state = await page.evaluate(() => {
      const study = document.getElementById("study");
      if (!study.dataset.status) return null;
      return {
        status: study.dataset.status, text: document.getElementById("progress-text").textContent,
        value: document.getElementById("progress").value, calls: document.getElementById("calls-text").textContent,
        clips: [...document.querySelectorAll("#clips tbody tr")].map((tr) => tr.dataset.status),
        report_visible: !document.getElementById("report").hidden,
      };
    });
    if (state && JSON.stringify(state) !== JSON.stringify(states[states.length - 1])) states.push(state);
    if (state && ENDED.includes(state.status) && state.report_visible) break;
    await page.waitForTimeout(100);
  }
  return states;
}

/** What the figure shows: its image, decoded from a blob: URL, and the downloads' sizes. */
async function figure(page) {
  return page.evaluate(async () => {
    const image = document.getElementById("figure-image");
    const size = async (url) => (url && url.startsWith("blob:") ? (await (await fetch(url)).blob()).size : 0);
    const png = document.getElementById("figure-png");
    const svg = document.getElementById("figure-svg");
    const svgText = svg.href.startsWith("blob:") ? await (await fetch(svg.href)).text() : "";
    return {
      state: document.getElementById("figure").dataset.state, src_is_blob: image.src.startsWith("blob:"),
      width: image.naturalWidth, height: image.naturalHeight, shown_width: image.getBoundingClientRect().width,
      bytes: await size(image.src), png_bytes: await size(png.href), png_name: png.download,
      svg_bytes: await size(svg.href), svg_name: svg.download, svg_is_svg: svgText.includes("<svg"),
    };
  });
}

async function clipRows(page) {
  return page.$$eval("#clips tbody tr", (rows) => rows.map((tr) => {
    const link = (kind) => tr.querySelector(`a.${kind}`);
    return {
      clip: tr.dataset.clip, status: tr.dataset.status,
      explanation_id: link("explanation")?.dataset.jobId ?? null, explanation_href: link("explanation")?.getAttribute("href") ?? null,
      comparison_id: link("comparison")?.dataset.jobId ?? null, comparison_href: link("comparison")?.getAttribute("href") ?? null,
      error: tr.cells[4].textContent,
    };
  }));
}
