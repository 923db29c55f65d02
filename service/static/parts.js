// What a listener hears first: the tagger's baseline (how it hears every component off) and the two
// verified parts of the chosen tag (the smallest set that alone keeps the tag, the smallest whose
// removal takes it away), each settled by the tagger's own answer to the mix the player plays.
import { element } from "./common.js";

const PARTS = [
  ["sufficient", "Alone, it keeps the tag"],
  ["necessary", "Without it, the tag is lost"],
];

/** Fills the baseline statement and one player per found part; `load(figure, path, filename)` loads audio. */
export function fillParts(box, explanation, base, load, label) {
  const baseline = explanation.baseline;
  const statement = box.querySelector("[data-baseline]");
  statement.textContent = baseline ? baseline.statement : "";
  statement.dataset.confounded = String(Boolean(baseline?.confounded)); // pages.css colours a confounded one
  const group = box.querySelector("[data-parts]");
  group.replaceChildren();
  for (const [part, heading] of PARTS) {
    const found = explanation[part];
    if (!found) continue;
    group.append(partFigure(found, part, heading, explanation.tag, base, load, label));
  }
}

function partFigure(found, part, heading, tag, base, load, label) {
  const figure = element("figure", { class: "player", "data-part": part, "data-found": String(found.found) });
  const names = (found.components || []).map(label).join(", ");
  figure.append(element("figcaption", {}, `${heading}: ${found.found ? names : "none found"}`),
    element("p", { class: "muted" }, found.statement));
  if (found.found && found.components?.length && !found.trivial) {
    figure.dataset.player = part; // a player only where there is a part to play
    figure.append(element("audio", { controls: "", preload: "auto" }));
    load(figure, `${base}/audio?tag=${encodeURIComponent(tag)}&part=${part}`, `${tag}-${part}`);
  }
  return figure;
}
