// The heat map: one row per source, one column per time segment, each cell a button coloured by
// the component's weight on a diverging scale (blue negative, white zero, red positive),
// symmetric around zero so that equal colours mean equal magnitudes. A cell whose weight's 95 %
// interval spans zero (its sign is not sure) is hatched, and says so to screen readers.
import { element } from "./common.js";

// ColorBrewer RdBu, 5 classes: readable for the common colour-vision deficiencies.
const STOPS = [
  [-1, [33, 102, 172]],
  [-0.5, [103, 169, 207]],
  [0, [247, 247, 247]],
  [0.5, [239, 138, 98]],
  [1, [178, 24, 43]],
];

/** The colour of t = weight / scale on the diverging scale; with `alpha` < 1, see-through (rgba). */
export function colour(t, alpha = 1) {
  const x = Math.max(-1, Math.min(1, t));
  let rgb = STOPS[STOPS.length - 1][1];
  for (let i = 1; i < STOPS.length; i += 1) {
    const [x1, c1] = STOPS[i];
    if (x <= x1) {
      const [x0, c0] = STOPS[i - 1];
      const f = (x - x0) / (x1 - x0);
      rgb = c0.map((c, j) => Math.round(c + f * (c1[j] - c)));
      break;
    }
  }
  return alpha < 1 ? `rgba(${rgb.join(", ")}, ${alpha})` : `rgb(${rgb.join(", ")})`;
}

/** A component's time span, as the page writes it. */
export function timeSpan(component) {
  return `${component.start.toFixed(2)}–${component.end.toFixed(2)} s`;
}

function formatWeight(weight) {
  const text = weight.toFixed(3);
  return /^-?0\.000$/.test(text) ? "0" : weight > 0 ? `+${text}` : text.replace("-", "−");
}

function headerRow(segments) {
  const row = element("tr");
  row.append(element("th", { scope: "col" }, "source \\ time"));
  for (const s of segments) row.append(element("th", { scope: "col" }, `${s.start.toFixed(1)}–${s.end.toFixed(1)} s`));
  return row;
}

/** Whether a weight's interval [low, high] includes zero; false without an interval (older results). */
export function spansZero(interval) {
  return Array.isArray(interval) && interval[0] <= 0 && interval[1] >= 0;
}

function intervalText(interval) {
  if (!Array.isArray(interval)) return "";
  const text = `; 95 % interval ${interval[0].toPrecision(3)} to ${interval[1].toPrecision(3)}`;
  return spansZero(interval) ? `${text}, spans zero: the sign is not sure` : text;
}

/** What a cell says of its component, to the eye (title) and to screen readers. */
export function describe(component, weight, interval, rank) {
  return `${component.source}, ${timeSpan(component)}: weight ${weight.toPrecision(4)}, rank ${rank}${intervalText(interval)}`;
}

function cell(component, weight, interval, rank, scale) {
  const description = describe(component, weight, interval, rank);
  const unsure = spansZero(interval);
  const button = element("button", {
    type: "button",
    class: unsure ? "cell spans-zero" : "cell",
    "data-component": String(component.index),
    "data-source": component.source,
    "data-segment": String(component.segment),
    "data-weight": String(weight),
    "data-spans-zero": String(unsure),
    title: description,
    "aria-label": `${description}; play`,
  }, formatWeight(weight));
  const t = weight / scale;
  button.style.backgroundColor = colour(t);
  button.style.color = Math.abs(t) > 0.6 ? "#fff" : "#1a1a1a";
  const td = element("td");
  td.append(button);
  return td;
}

/** Fills `table` for one tag's explanation; returns the colour scale's half-range. */
export function paintHeatmap(table, result, explanation) {
  const { weights, ranking } = explanation;
  const intervals = explanation.weight_interval || [];
  const scale = Math.max(...weights.map(Math.abs)) || 1;
  const rank = new Map(ranking.map((index, i) => [index, i + 1]));
  const slots = new Map(result.components.map((c) => [`${c.source}\n${c.segment}`, c]));
  const caption = element("caption", {}, `Weights for “${explanation.tag}”: sources × time segments`);
  const head = element("thead");
  head.append(headerRow(result.segments));
  const body = element("tbody");
  for (const source of result.sources) {
    const row = element("tr", { "data-source": source });
    row.append(element("th", { scope: "row" }, source));
    for (const segment of result.segments) {
      const component = slots.get(`${source}\n${segment.index}`);
      row.append(component
        ? cell(component, weights[component.index], intervals[component.index], rank.get(component.index), scale)
        : element("td"));
    }
    body.append(row);
  }
  table.replaceChildren(caption, head, body);
  table.dataset.tag = explanation.tag;
  table.dataset.intervals = String(intervals.length > 0);
  return scale;
}

export function paintLegend(scale, low, high) {
  low.textContent = `−${scale.toPrecision(3)}`;
  high.textContent = `+${scale.toPrecision(3)}`;
}
