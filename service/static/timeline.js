// The heat map's time axis in pixels. Each segment's time span maps linearly onto its column, so
// what is drawn under and over the heat map (the spectrogram, the waveforms, SLIME's band cells)
// lines up with the columns whatever their widths; segment boundaries fall in the gaps between them.

/** Each segment column's [left, right] in pixels from `box`'s left edge, read from the heat map's header. */
export function columnSpans(table, box) {
  const origin = box.getBoundingClientRect().left;
  return [...table.tHead.rows[0].cells].slice(1).map((cell) => {
    const rect = cell.getBoundingClientRect();
    return [rect.left - origin, rect.right - origin];
  });
}

/** Segment times ↔ pixels: segment i's [start, end] onto [edges[i], edges[i + 1]]. */
export class Timeline {
  /** `spans` from columnSpans: the outer edges are the first and last columns' own, the inner ones
   * the middle of the gap between two columns. */
  constructor(segments, spans) {
    this.times = [...segments.map((s) => s.start), segments[segments.length - 1].end];
    this.edges = [spans[0][0], ...spans.slice(1).map(([left], i) => (spans[i][1] + left) / 2), spans[spans.length - 1][1]];
    this.spans = spans;
  }

  get left() {
    return this.edges[0];
  }

  get right() {
    return this.edges[this.edges.length - 1];
  }

  get duration() {
    return this.times[this.times.length - 1];
  }

  /** The pixel of a time in seconds (clamped to the clip). */
  x(seconds) {
    return interpolate(this.times, this.edges, seconds);
  }

  /** The time in seconds at a pixel (clamped to the heat map's width). */
  seconds(x) {
    return interpolate(this.edges, this.times, x);
  }
}

function interpolate(from, to, value) {
  const last = from.length - 1;
  if (value <= from[0]) return to[0];
  if (value >= from[last]) return to[last];
  let i = 1;
  while (from[i] < value) i += 1;
  const f = (value - from[i - 1]) / (from[i] - from[i - 1] || 1);
  return to[i - 1] + f * (to[i] - to[i - 1]);
}
