// What the listening page draws on the heat map's time axis: the mixture's spectrogram under it,
// each source's waveform under its row and, with SLIME's bands as sources, the heat-map cells over
// the spectrogram. Both pictures are fetched once (the service lets the browser keep them an hour)
// and redrawn whenever the heat map is repainted (another tag) or its layout changes.
import { $, apiJson, showProblem } from "./common.js";
import { hasBands, paintBands, paintSpectrogram } from "./spectrogram.js";
import { Timeline, columnSpans } from "./timeline.js";
import { addWaveformRows, paintWaveforms } from "./waveforms.js";

const visuals = { result: null, explanation: null, scale: 1, spectrogram: null, waveforms: null, frame: 0, onDrawn: null };

/** Starts loading both pictures for a finished job; `onCellClick(index)` for the band cells,
 * `onDrawn()` after every redraw (the page marks the selected and mixed cells again). */
export function setUpVisuals(base, result, { onCellClick, onDrawn }) {
  Object.assign(visuals, { result, onDrawn });
  const figure = $("spectrogram");
  const bands = hasBands(result);
  figure.hidden = false;
  figure.classList.toggle("bands", bands);
  $("band-toggle-line").hidden = !bands;
  $("band-toggle").addEventListener("change", (event) => {
    $("band-overlay").hidden = !event.target.checked;
  });
  $("band-overlay").addEventListener("click", (event) => {
    const cell = event.target.closest("[data-component]");
    if (cell) onCellClick(Number(cell.dataset.component));
  });
  new ResizeObserver(schedule).observe($("heatmap"));
  load(`${base}/spectrogram`, "spectrogram", figure);
  load(`${base}/waveforms`, "waveforms", $("heatmap"));
}

async function load(path, name, holder) {
  holder.dataset[name] = "loading";
  try {
    visuals[name] = await apiJson(path, { cache: "default" });
  } catch (problem) {
    holder.dataset[name] = "error";
    showProblem($("visuals-problem"), problem);
    return;
  }
  schedule();
}

/** The heat map was painted for `explanation` (colour scale ±`scale`): new rows, so new waveform rows. */
export function heatmapPainted(explanation, scale) {
  Object.assign(visuals, { explanation, scale });
  const table = $("heatmap");
  addWaveformRows(table, visuals.result);
  if (table.dataset.waveforms === "ready") table.dataset.waveforms = "loading";
  schedule();
}

function schedule() {
  cancelAnimationFrame(visuals.frame);
  visuals.frame = requestAnimationFrame(draw);
}

function draw() {
  const { result, explanation } = visuals;
  const table = $("heatmap");
  if (!result || !explanation || !table.tHead) return;
  if (visuals.spectrogram) {
    const plot = $("spectrogram-plot");
    plot.style.width = `${table.offsetWidth}px`;
    const timeline = new Timeline(result.segments, columnSpans(table, plot));
    const axis = paintSpectrogram(plot, visuals.spectrogram, timeline);
    if (hasBands(result)) paintBands($("band-overlay"), result, explanation, timeline, axis, visuals.scale);
    $("spectrogram").dataset.spectrogram = "ready";
  }
  if (visuals.waveforms) {
    paintWaveforms(table, visuals.waveforms, (canvas) => new Timeline(result.segments, columnSpans(table, canvas)));
  }
  if (visuals.onDrawn) visuals.onDrawn();
}
