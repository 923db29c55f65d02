// Each source's waveform under its heat-map row, on the heat map's time axis: a row spanning the
// segment columns, the envelope (lowest and highest sample per column, GET …/waveforms) drawn on a
// canvas, every source on one scale (the loudest source's peak fills its row), boundaries as lines.
import { element } from "./common.js";

const INK = "#20313f";
const LINE = "rgba(32, 49, 63, 0.25)";

/** Puts a waveform row under each source row of the painted heat map (painting it replaces them). */
export function addWaveformRows(table, result) {
  const columns = String(result.segments.length);
  for (const row of [...table.tBodies[0].rows].filter((r) => r.dataset.source !== undefined)) {
    const name = row.dataset.source;
    const wave = element("tr", { class: "wave-row", "data-wave": name });
    const canvas = element("canvas", { class: "waveform", role: "img", "data-source": name,
      "aria-label": `Waveform of ${name} over the clip` });
    const cell = element("td", { colspan: columns });
    const box = element("div", { class: "wave-box" }); // the canvas sits in it out of the table's layout
    box.append(canvas);
    cell.append(box);
    wave.append(element("td", { class: "wave-label", "aria-hidden": "true" }, "waveform"), cell);
    row.after(wave);
  }
}

/** Draws every waveform row of `table` from `data`, on `timeline` (pixels from each canvas's own left). */
export function paintWaveforms(table, data, timelineFor) {
  const peak = Math.max(1e-6, ...Object.values(data.sources).flatMap((s) => [Math.max(...s.max), -Math.min(...s.min)]));
  table.querySelectorAll("canvas.waveform").forEach((canvas) => {
    const envelope = data.sources[canvas.dataset.source];
    if (envelope) paintOne(canvas, envelope, data, timelineFor(canvas), peak);
  });
  table.dataset.waveforms = "ready";
}

function paintOne(canvas, envelope, data, timeline, peak) {
  const width = Math.max(1, Math.round(canvas.clientWidth));
  const height = Math.max(1, Math.round(canvas.clientHeight));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const middle = height / 2;
  const scale = (height / 2 - 1) / peak;
  context.fillStyle = LINE;
  for (const x of timeline.edges.slice(1, -1)) context.fillRect(Math.round(x) - 0.5, 0, 1, height);
  context.fillRect(0, Math.floor(middle), width, 1);
  context.fillStyle = INK;
  const perSecond = data.columns / data.duration;
  for (let x = 0; x < width; x += 1) {
    const first = Math.floor(timeline.seconds(x) * perSecond);
    const last = Math.min(data.columns, Math.max(first + 1, Math.ceil(timeline.seconds(x + 1) * perSecond)));
    let low = Infinity;
    let high = -Infinity;
    for (let c = first; c < last; c += 1) {
      low = Math.min(low, envelope.min[c]);
      high = Math.max(high, envelope.max[c]);
    }
    if (high < low) continue;
    const top = Math.round(middle - high * scale); // whole pixels: crisp
    context.fillRect(x, top, 1, Math.max(1, Math.round(middle - low * scale) - top));
  }
  canvas.dataset.peak = String(Math.max(...envelope.max, -Math.min(...envelope.min)));
}
