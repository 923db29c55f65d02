// How sure one tag's explanation is: the claim about its top components (and the ties it cannot
// order), the confidence of that claim, why sampling stopped, and each source's and segment's share
// of the positive weight, with 95 % intervals. Also the confidence label shown while a job runs.
import { element } from "./common.js";
import { confidenceText, percent, percentRange } from "./numbers.js";
import { timeSpan } from "./heatmap.js";
import { plural, tolerantClause } from "./phrases.js";

export const STOP_REASONS = {
  converged: "converged",
  max_samples: "at max_samples, not converged",
  exhaustive: "every mask asked once (exhaustive)",
  fixed: "fixed count",
};

/** "confidence 0.87 of 0.95" while an adaptive run climbs to its target; null before the first fit. */
export function confidenceLabel(job) {
  const confidence = job.progress.confidence;
  if (confidence === null || confidence === undefined) return null;
  const sampling = (job.request && job.request.sampling) || {};
  const text = `confidence ${confidenceText(confidence)}`;
  if (sampling.strategy !== "adaptive" || typeof sampling.confidence !== "number") return text;
  return `${text} of ${confidenceText(sampling.confidence)}`;
}

function signed(weight) {
  return weight >= 0 ? `+${weight.toFixed(4)}` : `−${Math.abs(weight).toFixed(4)}`;
}

/** One sentence: what is claimed, how sure, and the ties. */
function claimSentence(stability, name) {
  const target = typeof stability.target === "number"
    ? ` (target ${confidenceText(stability.target)}${stability.converged ? "" : ", not reached"})` : "";
  const at = `at confidence ${confidenceText(stability.confidence)}${target}`;
  if (stability.claimed === 0) return `No component claimed ${at}: none surely raises the tag.`;
  let what = stability.claimed >= stability.top_k ? `Top ${stability.claimed} claimed`
    : `${plural(stability.claimed, "component")} claimed (fewer than ${stability.top_k} matter)`;
  if (stability.kind === "tolerant") { // the claim is up to the tolerance: say so where the claim is said
    what += ` ${tolerantClause(typeof stability.tolerance === "number" ? percent(stability.tolerance) : null)}`;
  }
  const tied = new Set(stability.tied);
  let members = stability.components.filter((i) => !tied.has(i)).map(name).join(", ");
  const slots = stability.claimed - stability.components.filter((i) => !tied.has(i)).length;
  if (stability.tied.length && slots > 0) {
    const some = `any ${slots} of the ${stability.tied.length} tied components`;
    members = members ? `${members} and ${some}` : some;
  }
  return `${what} ${at}: ${members}.`;
}

/** Fills the claim's sentence and facts for one tag; `name` writes a component's label. */
export function fillClaim(summary, facts, explanation, stats, name) {
  const stability = explanation.stability;
  facts.replaceChildren();
  if (!stability) {
    summary.textContent = "This result carries no claim (it was explained before the service reported one).";
    return;
  }
  summary.textContent = claimSentence(stability, name);
  const tolerance = typeof stability.tolerance === "number" ? ` (within ${percent(stability.tolerance)} % of each other)` : "";
  const rounds = stats.strategy === "adaptive" && stats.rounds ? ` after ${plural(stats.rounds, "round")}` : "";
  const rows = {
    claimed: stability.components.map(name).join(", ") || "none",
    tied: stability.tied.length ? `${stability.tied.map(name).join(", ")}${tolerance}: which of them belong is not claimed` : "none",
    confidence: confidenceText(stability.confidence),
    target: typeof stability.target === "number" ? confidenceText(stability.target) : null,
    converged: stability.converged ? "yes" : "no",
    stopped: stats.stop_reason ? `${STOP_REASONS[stats.stop_reason] || stats.stop_reason}${rounds}` : null,
    "samples used": `${stability.samples_used}${typeof stability.distinct_masks === "number" ? ` (${stability.distinct_masks} distinct masks)` : ""}`,
  };
  for (const [term, value] of Object.entries(rows)) {
    if (value !== null) facts.append(element("dt", {}, term), element("dd", { "data-fact": term }, value));
  }
}

/** The share tables: one row per source and per segment, in the result's order. */
export function fillShares(sourceTable, segmentTable, explanation, result) {
  const groups = explanation.groups || { sources: [], segments: [] };
  const segmentName = (group) => {
    const segment = result.segments[Number(group.name)];
    return segment ? timeSpan(segment) : group.name;
  };
  fillShareTable(sourceTable, groups.sources || [], (group) => group.name);
  fillShareTable(segmentTable, groups.segments || [], segmentName);
  sourceTable.closest(".shares").hidden = !(groups.sources || []).length && !(groups.segments || []).length;
}

function fillShareTable(table, groups, label) {
  table.tBodies[0].replaceChildren(...groups.map((group) => {
    const meter = element("meter", { min: "0", max: "1", value: String(group.positive_share), "aria-hidden": "true" });
    const share = element("td", { class: "share" });
    share.append(meter, ` ${percent(group.positive_share)} %`);
    const row = element("tr", { "data-name": group.name, "data-share": String(group.positive_share) });
    row.append(element("th", { scope: "row" }, label(group)), share, element("td", {}, percentRange(group.positive_share_interval)),
      element("td", {}, weightText(group)));
    return row;
  }));
}

// A null interval: too few masks to estimate it (the result's weight_se_note says so).
function weightText(group) {
  if (!group.weight_interval) return signed(group.weight);
  const [low, high] = group.weight_interval;
  return `${signed(group.weight)} (${signed(low)} to ${signed(high)})`;
}
