// Reads what the listening page draws on the heat map's time axis — the mixture's spectrogram,
// each source's waveform, SLIME's band cells over the spectrogram — as pixels and positions, plays
// the players, and prints one JSON report on stdout (tests/browser/test_visuals_page.py asserts on it):
//   node visuals_page.mjs --base URL --job ID [--key KEY] --out DIR --name NAME
// DIR receives NAME.png, a full-page screenshot.
import { join } from "node:path";
import { keyReport, options, session } from "./browser.mjs";

const args = options({ base: { type: "string" }, job: { type: "string" }, key: { type: "string" },
  out: { type: "string" }, name: { type: "string" } });
const TIMEOUT = 30000;
const PLAY_MS = 1200;

await session({ key: args.key, origin: new URL(args.base).origin, out: args.out, timeout: TIMEOUT }, async (page, seen) => {
  await page.goto(`${args.base}/explanations/${args.job}/view`);
  await page.waitForSelector('#view[data-stage="finished"] #spectrogram[data-spectrogram="ready"]');
  await page.waitForSelector('#heatmap[data-waveforms="ready"]');
  const report = await page.evaluate(drawn);
  report.players = await playAll(page);
  report.component = await playComponent(page, "#heatmap", report.cells[0].component);
  if (report.bands.length) report.band_component = await playComponent(page, "#band-overlay", report.bands.at(-1).component);
  report.toggled = await toggleBands(page);
  await page.$$eval("audio", (audios) => audios.forEach((a) => a.pause()));
  await page.locator("#heatmap").scrollIntoViewIfNeeded();
  report.screenshot = join(args.out, `${args.name}.png`);
  await page.screenshot({ path: report.screenshot, fullPage: true });
  return Object.assign(report, keyReport(seen, args.key), { errors: seen.errors });
});

/** In the page: positions relative to the spectrogram canvas's top-left corner, and what the pixels show. */
function drawn() {
  const canvas = document.getElementById("spectrogram-canvas");
  const box = canvas.getBoundingClientRect();
  const relative = (rect) => ({ left: rect.left - box.left, right: rect.right - box.left,
    top: rect.top - box.top, bottom: rect.bottom - box.top });
  const table = document.getElementById("heatmap");
  const columns = [...table.tHead.rows[0].cells].slice(1).map((c) => relative(c.getBoundingClientRect()));
  const brightness = (image, x, y) => image.data[4 * (y * image.width + x)] + image.data[4 * (y * image.width + x) + 1]
    + image.data[4 * (y * image.width + x) + 2];
  const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  // Per segment column: each pixel row's mean brightness over the column's middle half.
  const profiles = columns.map((c) => {
    const from = Math.round(c.left + (c.right - c.left) / 4);
    const to = Math.round(c.right - (c.right - c.left) / 4);
    return Array.from({ length: image.height }, (_, y) => {
      let sum = 0;
      for (let x = from; x < to; x += 1) sum += brightness(image, x, y);
      return sum / (to - from);
    });
  });
  const waveforms = [...table.querySelectorAll("tr.wave-row")].map((row) => {
    const wave = row.querySelector("canvas");
    const rect = wave.getBoundingClientRect();
    const pixels = wave.getContext("2d").getImageData(0, 0, wave.width, wave.height);
    const ink = (x) => { // the dark pixels of one pixel column: the envelope's height there
      let count = 0;
      for (let y = 0; y < pixels.height; y += 1) if (pixels.data[4 * (y * pixels.width + x) + 3] > 200) count += 1;
      return count;
    };
    const perSegment = columns.map((c) => {
      const from = Math.round(c.left + box.left - rect.left + 4);
      const to = Math.round(c.right + box.left - rect.left - 4);
      let most = 0;
      for (let x = from; x < to; x += 1) most = Math.max(most, ink(x));
      return most;
    });
    let tallest = 0;
    for (let x = 0; x < pixels.width; x += 1) tallest = Math.max(tallest, ink(x));
    return { source: row.dataset.wave, tallest, previous: row.previousElementSibling.dataset.source, height: pixels.height,
      width: pixels.width, left: rect.left - box.left, right: rect.right - box.left, peak: Number(wave.dataset.peak),
      ink: perSegment };
  });
  return {
    rows: [...table.tBodies[0].rows].filter((r) => r.dataset.source !== undefined).map((r) => r.dataset.source),
    cells: [...table.querySelectorAll("[data-component]")].map((c) => ({ component: Number(c.dataset.component),
      source: c.dataset.source, segment: Number(c.dataset.segment) })),
    canvas: { width: canvas.width, height: canvas.height, css_width: box.width, css_height: box.height },
    columns,
    ticks: [...document.querySelectorAll(".frequency-axis .tick")].map((t) => {
      const rect = relative(t.getBoundingClientRect());
      return { hz: Number(t.dataset.hz), text: t.textContent, y: (rect.top + rect.bottom) / 2, right: rect.right };
    }),
    lines: [...document.querySelectorAll(".segment-line")].map((l) => ({ time: Number(l.dataset.time),
      x: relative(l.getBoundingClientRect()).left, height: l.getBoundingClientRect().height })),
    time_ticks: [...document.querySelectorAll(".time-tick")].map((t) => t.textContent),
    profiles,
    waveforms,
    bands_class: document.getElementById("spectrogram").classList.contains("bands"),
    toggle_visible: !document.getElementById("band-toggle-line").hidden,
    bands: [...document.querySelectorAll("#band-overlay [data-component]")].map((cell) => ({
      component: Number(cell.dataset.component), source: cell.dataset.source, segment: Number(cell.dataset.segment),
      low_hz: Number(cell.dataset.lowHz), high_hz: Number(cell.dataset.highHz), weight: Number(cell.dataset.weight),
      background: getComputedStyle(cell).backgroundColor, in_mix: cell.classList.contains("in-mix"),
      ...relative(cell.getBoundingClientRect()) })),
  };
}

/** Every player once ready, all started together: how far each one's clock moved in about a second. */
async function playAll(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('figure[data-player]:not([data-player="component"])')]
    .every((f) => f.dataset.state === "ready" && f.querySelector("audio").readyState >= 1));
  return page.$$eval('figure[data-player]:not([data-player="component"])', async (figures, ms) => {
    const audios = figures.map((f) => f.querySelector("audio"));
    await Promise.all(audios.map((a) => { a.currentTime = 0; return a.play(); }));
    const started = performance.now();
    const before = audios.map((a) => a.currentTime);
    await new Promise((resolve) => setTimeout(resolve, ms));
    const wall = (performance.now() - started) / 1000;
    const shown = figures.map((f, i) => ({ player: f.dataset.player, source: f.dataset.source || null,
      blob: audios[i].src.startsWith("blob:"), duration: audios[i].duration, before: before[i],
      after: audios[i].currentTime, paused: audios[i].paused, wall }));
    audios.forEach((a) => a.pause());
    return shown;
  }, PLAY_MS);
}

/** Clicks a cell (in the heat map or over the spectrogram): the component player loads it and plays. */
async function playComponent(page, container, index) {
  await page.click(`${container} [data-component="${index}"]`);
  const figure = `figure[data-player="component"][data-loaded="${index}"]`;
  await page.waitForFunction((selector) => document.querySelector(selector)?.querySelector("audio").readyState >= 1, figure);
  return page.$eval(figure, async (f, ms) => {
    const audio = f.querySelector("audio");
    await new Promise((resolve) => setTimeout(resolve, 100)); // the page's own play() after loading
    const before = audio.currentTime;
    const started = performance.now();
    if (audio.paused) await audio.play();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const report = { component: Number(f.dataset.component), caption: f.querySelector("figcaption").textContent,
      before, after: audio.currentTime, wall: (performance.now() - started) / 1000, paused: audio.paused,
      pressed: [...document.querySelectorAll('[aria-pressed="true"]')].map((n) => Number(n.dataset.component)) };
    audio.pause();
    return report;
  }, PLAY_MS);
}

/** The band toggle hides the cells over the spectrogram and shows them again. */
async function toggleBands(page) {
  if (await page.isHidden("#band-toggle-line")) return null;
  await page.uncheck("#band-toggle");
  const hidden = await page.isHidden("#band-overlay");
  await page.check("#band-toggle");
  return { hidden, shown_again: await page.isVisible("#band-overlay [data-component]") };
}
