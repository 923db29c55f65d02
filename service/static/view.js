// The listening page of one explanation: live progress (and the claim's confidence) while it runs;
// when finished, the heat map of weights (sources × segments, unsure signs hatched), the claim and
// the shares of the positive weight, the mixture's spectrogram and each source's waveform on the
// heat map's time axis (SLIME's bands drawn over the spectrogram), players for the original, the
// sources, a clicked component and the top-k mix, and the self-check. Everything comes from the
// API with the key as a header.
import { $, KEY_EVENT, api, element, loadAudio, poller, setUpKeyForm, showProblem, when } from "./common.js";
import { STOP_REASONS, confidenceLabel, fillClaim, fillShares } from "./claim.js";
import { paintHeatmap, paintLegend, timeSpan } from "./heatmap.js";
import { fillParts } from "./parts.js";
import { reuseText } from "./phrases.js";
import { heatmapPainted, setUpVisuals } from "./visuals.js";

const FORMAT = "flac"; // half the bytes of WAV, and every current browser plays it
const ENDED = ["finished", "failed", "cancelled"]; // the stages a job does not leave

const view = $("view");
const base = `/explanations/${encodeURIComponent(view.dataset.jobId)}`;
const state = { job: null, tag: null, component: null };
const poll = poller(base, $("problem"), showJob);
const CELLS = "#heatmap [data-component], #band-overlay [data-component]"; // SLIME's bands: over the spectrogram too

setUpKeyForm();
document.addEventListener(KEY_EVENT, () => poll());
$("cancel").addEventListener("click", cancel);
$("tag").addEventListener("change", (event) => selectTag(event.target.value));
$("mix-k").addEventListener("change", () => {
  markMix();
  loadMix();
});
$("heatmap").addEventListener("click", (event) => {
  const cell = event.target.closest("[data-component]");
  if (cell) listenToComponent(Number(cell.dataset.component));
});
poll();

// -- progress ---------------------------------------------------------------------------------

function showJob(job) {
  state.job = job;
  showProgress(job);
  if (job.stage === "finished") showResult(job);
  else if (job.stage === "failed") showFailure(job.error || {});
  else if (job.stage === "cancelled") $("cancelled").hidden = false;
  else return true;
  return false;
}

function showProgress(job) {
  const { done, total, percent } = job.progress;
  view.dataset.stage = job.stage;
  $("progress-section").hidden = false;
  $("stage").textContent = job.stage;
  $("progress").value = percent;
  $("progress-text").textContent = total ? `${done} of ${total} (${percent.toFixed(1)} %)` : `${percent.toFixed(1)} %`;
  const confidence = confidenceLabel(job);
  $("confidence").hidden = confidence === null;
  $("confidence").textContent = confidence || "";
  $("cancel").hidden = ENDED.includes(job.stage);
  // A failed job's error names the stage it failed in; that chip turns red, the earlier ones stay done.
  const items = [...document.querySelectorAll(".stages li")];
  const current = job.stage === "failed" ? (job.error || {}).stage : job.stage;
  const reached = items.findIndex((li) => li.dataset.stage === current);
  items.forEach((li, i) => {
    li.classList.toggle("done", (reached >= 0 && i < reached) || job.stage === "finished");
    li.classList.toggle("current", i === reached && !ENDED.includes(job.stage));
    li.classList.toggle("failed", i === reached && job.stage === "failed");
    if (i === reached) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  });
}

async function cancel() {
  if (!window.confirm("Cancel this explanation and delete its data?")) return;
  try {
    await api(base, { method: "DELETE" });
  } catch (problem) {
    showProblem($("problem"), problem);
  }
  poll();
}

function showFailure(error) {
  $("failed").hidden = false;
  $("error-title").textContent = error.title || "Failed";
  $("error-detail").textContent = error.detail || "";
  const facts = { stage: error.stage, "tagger HTTP status": error.http_status, attempts: error.attempts, batch: error.batch };
  fillFacts($("error-facts"), facts);
}

// -- the result -------------------------------------------------------------------------------

function showResult(job) {
  if (!$("result").hidden) return; // shown once, by the first poll that saw the job finished
  const result = job.result;
  $("result").hidden = false;
  const select = $("tag");
  select.replaceChildren(...result.tags.map((t) => element("option", { value: t.tag }, t.tag)));
  select.disabled = result.tags.length < 2; // one tag: shown, nothing to choose
  $("mix-k").max = result.components.length;
  mixK(); // the template's k, clamped to the components there are
  fillFacts($("run-facts"), runFacts(job));
  setUpPlayers(result);
  setUpVisuals(base, result, { onCellClick: listenToComponent, onDrawn: () => [markSelected(), markMix()] });
  if (result.tags.length) selectTag(result.tags[0].tag);
}

function selectTag(tag) {
  const result = state.job.result;
  const explanation = result.tags.find((t) => t.tag === tag);
  state.tag = explanation;
  $("tag").value = tag;
  $("mix-tag").textContent = tag;
  fillFacts($("tag-summary"), {
    "original score": explanation.original_score.toFixed(4),
    "surrogate R²": explanation.score.toFixed(3),
    intercept: explanation.intercept.toFixed(4),
    "local prediction": explanation.local_prediction.toFixed(4),
  });
  const scale = paintHeatmap($("heatmap"), result, explanation);
  paintLegend(scale, $("legend-low"), $("legend-high"));
  heatmapPainted(explanation, scale);
  $("hatch-legend").hidden = !explanation.weight_interval;
  fillClaim($("claim-summary"), $("claim-facts"), explanation, result.stats, (i) => componentLabel(result.components[i]));
  fillShares($("source-shares"), $("segment-shares"), explanation, result);
  markSelected();
  markMix();
  fillSelfCheck(explanation, result.components);
  fillParts($("verified"), explanation, base, fillPlayer, (i) => componentLabel(result.components[i]));
  loadMix();
}

function componentLabel(component) {
  return `${component.source} ${timeSpan(component)}`;
}

function fillSelfCheck(explanation, components) {
  const rows = explanation.self_check;
  const body = $("self-check").tBodies[0];
  body.replaceChildren(...rows.map((row) => {
    const tr = element("tr");
    const names = row.components.map((i) => componentLabel(components[i])).join(", ");
    tr.append(element("td", {}, String(row.k)), element("td", {}, names), element("td", {}, row.score.toFixed(4)),
      element("td", {}, row.top_tag), element("td", { class: row.still_top ? "yes" : "no" }, row.still_top ? "yes" : "no"));
    return tr;
  }));
  if (!rows.length) {
    const why = explanation.error ? explanation.error.detail : explanation.self_check_note || "no self-check was asked for";
    body.append(element("tr", {}, element("td", { colspan: "5" }, why)));
  }
}

function runFacts(job) {
  const { result, request } = job;
  const { stats } = result;
  const rounds = stats.strategy === "adaptive" && stats.rounds ? ` after ${stats.rounds} round${stats.rounds === 1 ? "" : "s"}` : "";
  return {
    separator: result.provenance.separator,
    tagger: `${request.tagger.url} (${request.tagger.protocol || "json"})`,
    "sources × segments": `${result.sources.length} × ${result.segments.length} = ${result.components.length} components`,
    sampling: stats.strategy ? `${stats.strategy}${stats.design ? ` (${stats.design})` : ""}` : null,
    stopped: stats.stop_reason ? `${STOP_REASONS[stats.stop_reason] || stats.stop_reason}${rounds}` : null,
    samples: `${stats.samples} (${stats.unique_masks} distinct${stats.exhaustive ? ", all masks" : ""})`,
    "tagger calls": stats.reused ? `${stats.tagger_calls} (and ${stats.reused} answers reused from earlier jobs)` : stats.tagger_calls,
    reuse: reuseText(stats),
    submitted: when(job.created_at),
    finished: when(job.finished_at),
    "kept until": when(job.expires_at),
  };
}

function fillFacts(list, facts) {
  list.replaceChildren();
  for (const [name, value] of Object.entries(facts)) {
    if (value === undefined || value === null) continue;
    list.append(element("dt", {}, name), element("dd", {}, String(value)));
  }
}

// -- players ----------------------------------------------------------------------------------

function setUpPlayers(result) {
  fillPlayer(document.querySelector('[data-player="original"]'), `${base}/original`, "original");
  const group = $("source-players");
  group.replaceChildren();
  for (const name of result.sources) {
    const figure = element("figure", { class: "player", "data-player": "source", "data-source": name });
    figure.append(element("figcaption", {}, `Source: ${name}`), element("audio", { controls: "", preload: "auto" }));
    group.append(figure);
    fillPlayer(figure, `${base}/sources/${encodeURIComponent(name)}`, name);
  }
}

function audioPath(path) {
  return `${path}${path.includes("?") ? "&" : "?"}format=${FORMAT}`;
}

/** Whether a player already holds the audio of `path`, loaded in full. */
function holds(figure, path) {
  return figure.dataset.state === "ready" && figure.querySelector("audio").dataset.path === audioPath(path);
}

/** Loads a player's audio; its figure says how far it got (data-state) and offers the download. */
async function fillPlayer(figure, path, filename) {
  figure.dataset.state = "loading";
  figure.querySelector(".problem")?.remove();
  try {
    const response = await loadAudio(figure.querySelector("audio"), audioPath(path));
    if (response === null) return null; // overtaken by a newer load of the same player
    downloadLink(figure, `${filename}.${FORMAT}`);
    figure.dataset.state = "ready";
    return response;
  } catch (problem) {
    figure.dataset.state = "error";
    const box = element("p", { class: "problem", role: "alert" });
    showProblem(box, problem);
    figure.append(box);
    return null;
  }
}

function downloadLink(figure, filename) {
  let link = figure.querySelector("a.download");
  if (!link) {
    link = element("a", { class: "download" }, "download");
    figure.querySelector("figcaption").append(" ", link);
  }
  link.href = figure.querySelector("audio").src;
  link.download = filename;
}

async function listenToComponent(index) {
  const component = state.job.result.components[index];
  const figure = document.querySelector('[data-player="component"]');
  state.component = index;
  markSelected();
  figure.hidden = false;
  figure.dataset.component = String(index);
  const weight = state.tag ? state.tag.weights[index] : null;
  $("component-name").textContent = `${componentLabel(component)}${weight === null ? "" : ` (weight ${weight.toFixed(4)})`}`;
  const path = `${base}/components/${index}`;
  const audio = figure.querySelector("audio");
  if (holds(figure, path)) {
    audio.play().catch(() => {}); // already there: just play it again
    return;
  }
  const loaded = await fillPlayer(figure, path, component.name);
  if (loaded && state.component === index) {
    figure.dataset.loaded = String(index);
    audio.play().catch(() => {}); // a click is a gesture; if refused, the controls remain
  }
}

function mixK() {
  const input = $("mix-k");
  const k = Math.max(1, Math.min(Number(input.max) || 1, Math.round(Number(input.value)) || 1));
  input.value = k;
  return k;
}

async function loadMix() {
  const figure = document.querySelector('[data-player="mix"]');
  const tag = state.tag.tag;
  const k = mixK();
  const path = `${base}/audio?tag=${encodeURIComponent(tag)}&k=${k}`;
  if (holds(figure, path)) return; // this tag's top k already: keep it, and what it says it mixed
  Object.assign(figure.dataset, { tag, k: String(k) });
  delete figure.dataset.components;
  const response = await fillPlayer(figure, path, `${tag}-top${k}`);
  if (!response) return;
  // The service says which components it mixed: fewer than k when fewer are positive.
  const chosen = (response.headers.get("X-Components") || "").split(",").filter(Boolean).map(Number);
  figure.dataset.components = chosen.join(",");
  const components = state.job.result.components;
  $("mix-components").textContent = chosen.length
    ? `Mixed: ${chosen.map((i) => componentLabel(components[i])).join(", ")}`
    : "No component has a positive weight for this tag: the mix is silent.";
}

function markSelected() {
  document.querySelectorAll(CELLS).forEach((cell) => {
    cell.setAttribute("aria-pressed", String(Number(cell.dataset.component) === state.component));
  });
}

function markMix() {
  const positive = state.tag.ranking.filter((i) => state.tag.weights[i] > 0);
  const inMix = new Set(positive.slice(0, mixK()));
  document.querySelectorAll(CELLS).forEach((cell) => {
    cell.classList.toggle("in-mix", inMix.has(Number(cell.dataset.component)));
  });
}

