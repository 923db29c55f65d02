// Drives the listening page of a finished explanation in headless Chromium and prints one JSON
// report on stdout (tests/browser/test_view_page.py asserts on it):
//   node view_page.mjs --base http://127.0.0.1:PORT --job ID [--key KEY] --out DIR
// DIR receives view-page.png and the audio the players really hold (component-<i>.flac, mix-….flac).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { audioBytes, facts, keyReport, options, session } from "./browser.mjs";

const args = options({ base: { type: "string" }, job: { type: "string" }, key: { type: "string" }, out: { type: "string" } });
const TIMEOUT = 30000;

await session({ key: args.key, origin: new URL(args.base).origin, out: args.out, timeout: TIMEOUT }, async (page, seen) => {
  await page.goto(`${args.base}/explanations/${args.job}/view`);
  await page.waitForSelector('#view[data-stage="finished"] #result:not([hidden])');
  const report = { stage: await page.textContent("#stage") };
  report.tags = await page.$$eval("#tag option", (options) => options.map((o) => o.value));
  report.heatmaps = {};
  report.claims = {};
  report.verified = {};
  for (const tag of [...report.tags].reverse()) { // ends on the first
    report.heatmaps[tag] = await heatmapFor(page, tag);
    report.claims[tag] = await claimFor(page);
    report.verified[tag] = await verifiedFor(page);
  }
  report.summary = await facts(page, "#tag-summary");
  report.self_check = await page.$$eval("#self-check tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  report.players = await players(page);
  report.original_playback = await playback(page, '[data-player="original"] audio');
  report.component = await clickCells(page, report.heatmaps[report.tags[0]].cells, args.out, seen);
  report.mix = await mixWithK(page, 1, args.out);
  await page.$$eval("audio", (audios) => audios.forEach((a) => a.pause()));
  report.run = await facts(page, "#run-facts");
  await page.locator("#heatmap").scrollIntoViewIfNeeded();
  report.screenshot = join(args.out, "view-page.png");
  await page.screenshot({ path: report.screenshot, fullPage: true });
  report.legacy = await legacyView(page);
  report.tolerant = await tolerantView(page);
  return Object.assign(report, keyReport(seen, args.key), { errors: seen.errors });
});

/** The same page for a result as the service wrote it before it said how sure it is: the job
 * document without the intervals, the claim, the shares and the sampling stats. */
async function legacyView(page) {
  const pattern = `**/explanations/${args.job}`;
  await page.route(pattern, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    for (const tag of body.result.tags) ["weight_se", "weight_interval", "stability", "groups"].forEach((k) => delete tag[k]);
    ["strategy", "design", "stop_reason", "rounds", "confidence_trace", "reused"].forEach((k) => delete body.result.stats[k]);
    delete body.progress.confidence;
    await route.fulfill({ response, json: body });
  });
  await page.goto(`${args.base}/explanations/${args.job}/view`);
  await page.waitForSelector('#view[data-stage="finished"] #result:not([hidden]) #heatmap [data-component]');
  const shown = await page.evaluate(() => ({
    cells: document.querySelectorAll("#heatmap [data-component]").length,
    hatched: document.querySelectorAll("#heatmap .spans-zero").length,
    hatch_legend_hidden: document.getElementById("hatch-legend").hidden,
    claim: document.getElementById("claim-summary").textContent,
    claim_facts: document.querySelectorAll("#claim-facts dt").length,
    shares_hidden: document.getElementById("shares").hidden,
    confidence_hidden: document.getElementById("confidence").hidden,
  }));
  shown.run = await facts(page, "#run-facts");
  await page.unroute(pattern);
  return shown;
}

/** The claim sentence of the first tag when its claim is a tolerant one (sampling.claim). */
async function tolerantView(page) {
  const pattern = `**/explanations/${args.job}`;
  await page.route(pattern, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    for (const tag of body.result.tags) tag.stability.kind = "tolerant";
    await route.fulfill({ response, json: body });
  });
  await page.goto(`${args.base}/explanations/${args.job}/view`);
  await page.waitForSelector('#view[data-stage="finished"] #result:not([hidden]) #heatmap [data-component]');
  const claim = await page.textContent("#claim-summary");
  await page.unroute(pattern);
  return claim;
}

/** The heat map as drawn for one tag: its grid and each cell's attributes and colour. */
async function heatmapFor(page, tag) {
  await page.selectOption("#tag", tag);
  await page.waitForSelector(`#heatmap[data-tag="${tag}"]`);
  return page.$eval("#heatmap", (table) => ({
    rows: [...table.tBodies[0].rows].filter((r) => !r.classList.contains("wave-row")).map((r) => r.cells[0].textContent),
    waveform_rows: [...table.tBodies[0].querySelectorAll("tr.wave-row")].map((r) => r.dataset.wave),
    columns: [...table.tHead.rows[0].cells].slice(1).map((c) => c.textContent),
    legend: [document.getElementById("legend-low").textContent, document.getElementById("legend-high").textContent],
    cells: [...table.querySelectorAll("[data-component]")].map((cell) => ({
      component: Number(cell.dataset.component),
      source: cell.dataset.source,
      segment: Number(cell.dataset.segment),
      weight: Number(cell.dataset.weight),
      title: cell.title,
      text: cell.textContent,
      background: getComputedStyle(cell).backgroundColor,
      hatched: getComputedStyle(cell).backgroundImage.startsWith("repeating-linear-gradient"),
      spans_zero: cell.dataset.spansZero === "true",
      in_mix: cell.classList.contains("in-mix"),
    })),
    hatch_legend_visible: !document.getElementById("hatch-legend").hidden,
  }));
}

/** The claim and the share tables as shown for the selected tag. */
async function claimFor(page) {
  const shown = await page.evaluate(() => {
    const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)].map((r) => ({
      name: r.dataset.name, share: Number(r.dataset.share), cells: [...r.cells].map((c) => c.textContent.trim()),
      meter: Number(r.querySelector("meter").value) }));
    return { summary: document.getElementById("claim-summary").textContent,
      sources: rows("source-shares"), segments: rows("segment-shares") };
  });
  return { ...shown, facts: await facts(page, "#claim-facts") };
}

/** Every player once its audio has arrived and its metadata is read. */
/** The baseline statement and the verified parts of the tag shown, once their players hold their audio. */
async function verifiedFor(page) {
  await page.waitForFunction(() => [...document.querySelectorAll("#verified figure[data-player]")]
    .every((f) => f.dataset.state === "ready" && f.querySelector("audio").readyState >= 1));
  return page.$eval("#verified", (box) => ({
    first: Boolean(box.compareDocumentPosition(document.querySelector("#heatmap")) & Node.DOCUMENT_POSITION_FOLLOWING),
    baseline: box.querySelector("[data-baseline]").textContent,
    confounded: box.querySelector("[data-baseline]").dataset.confounded,
    parts: [...box.querySelectorAll("figure[data-part]")].map((f) => ({
      part: f.dataset.part, found: f.dataset.found, statement: f.querySelector("p").textContent,
      caption: f.querySelector("figcaption").textContent, state: f.dataset.state || null,
      duration: f.querySelector("audio")?.duration || null })),
  }));
}

async function players(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('figure[data-player]:not([data-player="component"])')]
    .every((f) => f.dataset.state === "ready" && f.querySelector("audio").readyState >= 1));
  return page.$$eval("figure[data-player]", (figures) => figures.map((f) => ({
    player: f.dataset.player,
    source: f.dataset.source || null,
    hidden: f.hidden,
    state: f.dataset.state || null,
    blob: f.querySelector("audio").src.startsWith("blob:"),
    duration: f.querySelector("audio").duration || null,
  })));
}

/** Plays an <audio> for about a second of wall time and reports how far its clock moved. */
async function playback(page, selector) {
  return page.$eval(selector, async (audio) => {
    audio.currentTime = 0;
    await audio.play();
    const started = performance.now();
    const before = audio.currentTime;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const report = { before, after: audio.currentTime, wall: (performance.now() - started) / 1000, paused: audio.paused };
    audio.pause();
    return report;
  });
}

/** Clicks the weakest cell, then the strongest: the component player follows, and the first
 * audio's blob URL is revoked when the second replaces it. Saves the strongest one's audio. */
async function clickCells(page, cells, out, seen) {
  const sorted = [...cells].sort((a, b) => a.weight - b.weight);
  const first = await clickCell(page, sorted[0].component);
  const second = await clickCell(page, sorted[sorted.length - 1].component);
  const revoked = await page.evaluate(async (src) => fetch(src).then(() => false, () => true), first.src);
  const logged = seen.errors.findLastIndex((e) => e.includes("ERR_FILE_NOT_FOUND")); // that fetch, failing
  if (revoked && logged >= 0) seen.errors.splice(logged, 1);
  const file = join(out, `component-${second.component}.flac`);
  writeFileSync(file, await audioBytes(page, '[data-player="component"] audio'));
  const pressed = await page.$$eval('#heatmap [aria-pressed="true"]', (nodes) => nodes.map((n) => Number(n.dataset.component)));
  return { first: first.component, ...second, file, first_blob_revoked: revoked, pressed };
}

async function clickCell(page, index) {
  await page.click(`#heatmap [data-component="${index}"]`);
  const figure = `figure[data-player="component"][data-loaded="${index}"]`;
  await page.waitForFunction((selector) => document.querySelector(selector)?.querySelector("audio").readyState >= 1, figure);
  return page.$eval(figure, (f) => ({
    component: Number(f.dataset.component),
    visible: !f.hidden && f.getBoundingClientRect().height > 0,
    caption: f.querySelector("figcaption").textContent,
    src: f.querySelector("audio").src,
    duration: f.querySelector("audio").duration,
  }));
}

/** Sets k in the mix player as a user would; saves the mix it then holds. */
async function mixWithK(page, k, out) {
  await page.fill("#mix-k", String(k));
  await page.press("#mix-k", "Enter");
  const figure = `figure[data-player="mix"][data-k="${k}"][data-state="ready"][data-components]`;
  await page.waitForFunction((selector) => document.querySelector(selector)?.querySelector("audio").readyState >= 1, figure);
  const details = await page.$eval(figure, (f) => ({ tag: f.dataset.tag, k: Number(f.dataset.k), components: f.dataset.components,
    text: document.getElementById("mix-components").textContent }));
  details.file = join(out, `mix-${details.tag}-k${k}.flac`);
  writeFileSync(details.file, await audioBytes(page, '[data-player="mix"] audio'));
  details.outlined = await page.$$eval("#heatmap .in-mix", (nodes) => nodes.map((n) => Number(n.dataset.component)));
  details.playback = await playback(page, '[data-player="mix"] audio');
  return details;
}
