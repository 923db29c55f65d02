// The mixture's spectrogram under the heat map: log frequency upwards, the heat map's time axis
// across (each segment's span under its column, boundaries drawn as lines). With SLIME's bands as
// sources, the heat-map cells are drawn over it too, each band at its frequency range: the
// time–frequency rectangles SLIME explains with. Drawn on a canvas; labels, lines and band cells
// are elements placed with the CSSOM (the page's CSP allows no inline styles, this it does).
import { element } from "./common.js";
import { colour, describe, spansZero } from "./heatmap.js";

// Levels 0..255 to colour: a magma-like ramp, dark (quiet) to pale yellow (loud).
const RAMP = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]];
const TICKS = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
const BAND = /^band(\d+)_(\d+)-(\d+)Hz$/; // engine/slime.py's names: band01_0-382Hz, low to high

const LUT = (() => {
  const table = new Uint8ClampedArray(256 * 3);
  for (let level = 0; level < 256; level += 1) {
    const position = (level / 255) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(position));
    const f = position - i;
    for (let c = 0; c < 3; c += 1) table[3 * level + c] = RAMP[i][c] + f * (RAMP[i + 1][c] - RAMP[i][c]);
  }
  return table;
})();

/** A source name's frequency band {low, high} in Hz, or null when it is not one of SLIME's bands. */
export function bandOf(name) {
  const match = BAND.exec(name);
  return match ? { low: Number(match[2]), high: Number(match[3]) } : null;
}

/** Whether the sources are frequency bands (the `slime` separator): then the heat map's rows are bands. */
export function hasBands(result) {
  const separator = (result.provenance && result.provenance.separator) || "";
  return separator.startsWith("slime") || (result.sources.length > 0 && result.sources.every((name) => bandOf(name)));
}

/** Hz ↔ pixels on the log axis of `height` pixels, `range` [lowest, highest] Hz from the bottom up. */
export class FrequencyAxis {
  constructor(range, height) {
    [this.low, this.high] = range;
    this.height = height;
  }

  y(hz) {
    const clamped = Math.max(this.low, Math.min(this.high, hz));
    return this.height * (1 - Math.log(clamped / this.low) / Math.log(this.high / this.low));
  }
}

export function hzLabel(hz) {
  return hz >= 1000 ? `${hz / 1000} kHz` : `${hz} Hz`;
}

/** Draws `data` (GET …/spectrogram) into the plot: the canvas under the segment columns, the
 * frequency labels left of it, the boundaries and the time labels. Returns the frequency axis. */
export function paintSpectrogram(plot, data, timeline) {
  const canvas = plot.querySelector("canvas");
  const width = Math.max(1, Math.round(timeline.right - timeline.left));
  const height = canvas.clientHeight || 200;
  Object.assign(canvas.style, { left: `${timeline.left}px`, width: `${width}px` });
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.putImageData(pixels(context, data, timeline, width, height), 0, 0);
  const axis = new FrequencyAxis(data.frequency_range, height);
  frequencyLabels(plot.querySelector(".frequency-axis"), axis, timeline.left);
  boundaries(plot.querySelector(".segment-lines"), plot.querySelector(".time-axis"), timeline, height);
  return axis;
}

function pixels(context, data, timeline, width, height) {
  const image = context.createImageData(width, height);
  const rows = data.frequencies.length;
  const columns = new Int32Array(width); // the spectrogram column nearest each pixel column's time
  for (let x = 0, j = 0; x < width; x += 1) {
    const t = timeline.seconds(timeline.left + x + 0.5);
    while (j + 1 < data.times.length && Math.abs(data.times[j + 1] - t) <= Math.abs(data.times[j] - t)) j += 1;
    columns[x] = j;
  }
  for (let y = 0; y < height; y += 1) {
    const levels = data.db[Math.min(rows - 1, Math.floor(((height - y - 0.5) / height) * rows))];
    for (let x = 0; x < width; x += 1) {
      const at = 4 * (y * width + x);
      const level = 3 * levels[columns[x]];
      image.data[at] = LUT[level];
      image.data[at + 1] = LUT[level + 1];
      image.data[at + 2] = LUT[level + 2];
      image.data[at + 3] = 255;
    }
  }
  return image;
}

function frequencyLabels(box, axis, left) {
  Object.assign(box.style, { width: `${Math.max(0, left - 6)}px`, height: `${axis.height}px` });
  box.replaceChildren(...TICKS.filter((hz) => hz >= axis.low && hz <= axis.high).map((hz) => {
    const label = element("span", { class: "tick", "data-hz": String(hz) }, hzLabel(hz));
    label.style.top = `${axis.y(hz)}px`;
    return label;
  }));
}

function boundaries(lines, labels, timeline, height) {
  lines.replaceChildren();
  labels.replaceChildren();
  labels.style.top = `${height}px`;
  timeline.times.forEach((t, i) => {
    const x = timeline.edges[i];
    if (i > 0 && i < timeline.times.length - 1) {
      const line = element("span", { class: "segment-line", "data-time": String(t) });
      Object.assign(line.style, { left: `${x}px`, height: `${height}px` });
      lines.append(line);
    }
    const label = element("span", { class: "time-tick", "data-time": String(t) }, `${t.toFixed(1)} s`);
    label.style.left = `${x}px`;
    labels.append(label);
  });
}

/** SLIME's cells over the spectrogram: each band × segment at its frequency range and its column,
 * coloured by the weight (see-through), hatched when unsure; clicking one plays it, like its heat-map cell. */
export function paintBands(overlay, result, explanation, timeline, axis, scale) {
  const { weights, ranking } = explanation;
  const intervals = explanation.weight_interval || [];
  const rank = new Map(ranking.map((index, i) => [index, i + 1]));
  overlay.replaceChildren(...result.components.flatMap((component) => {
    const band = bandOf(component.source);
    const span = timeline.spans[component.segment];
    if (!band || !span || band.high <= axis.low) return [];
    const weight = weights[component.index];
    const unsure = spansZero(intervals[component.index]);
    const top = axis.y(band.high);
    const cell = element("button", {
      type: "button", tabindex: "-1", class: unsure ? "band-cell spans-zero" : "band-cell",
      "data-component": String(component.index), "data-source": component.source,
      "data-segment": String(component.segment), "data-low-hz": String(band.low), "data-high-hz": String(band.high),
      "data-weight": String(weight), title: describe(component, weight, intervals[component.index], rank.get(component.index)),
    });
    const t = weight / scale;
    Object.assign(cell.style, {
      left: `${span[0]}px`, width: `${span[1] - span[0]}px`, top: `${top}px`, height: `${axis.y(band.low) - top}px`,
      backgroundColor: colour(t, 0.1 + 0.55 * Math.min(1, Math.abs(t))), // faint where the weight is
    });
    return [cell];
  }));
}
