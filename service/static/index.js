// The index page: submit an explanation from the browser (multipart, as POST /explanations
// expects: the clip as `audio`, the settings as a JSON part `request`, stems as `stem.<name>`)
// and list the caller's explanations and studies.
import { $, ApiProblem, KEY_EVENT, apiJson, element, root, setUpKeyForm, showProblem, studyUrl, viewUrl, when } from "./common.js";

const PAGE = 20;
let nextPage = null;
let nextStudies = null;

setUpKeyForm();
document.addEventListener(KEY_EVENT, () => [listJobs(), listStudies()]);
$("separator").addEventListener("change", showStemsField);
document.querySelectorAll('input[name="targets"]').forEach((radio) => radio.addEventListener("change", showTargets));
document.querySelectorAll('input[name="sampling"]').forEach((radio) => radio.addEventListener("change", showSampling));
$("submit-form").addEventListener("submit", submit);
$("jobs-refresh").addEventListener("click", () => listJobs());
$("jobs-more").addEventListener("click", () => listJobs(nextPage));
$("studies-refresh").addEventListener("click", () => listStudies());
$("studies-more").addEventListener("click", () => listStudies(nextStudies));
showStemsField();
showTargets();
showSampling();
listJobs();
listStudies();

function showStemsField() {
  $("stems-field").hidden = $("separator").value !== "provided";
}

/** The checked choice of targets: "top_k" or "tags". */
function targetsChoice() {
  return document.querySelector('input[name="targets"]:checked').value;
}

function showTargets() {
  const byName = targetsChoice() === "tags";
  $("tags").disabled = !byName;
  $("top-k").disabled = byName;
}

/** The checked sampling strategy: "adaptive" (until the claim is sure) or "fixed". */
function samplingChoice() {
  return document.querySelector('input[name="sampling"]:checked').value;
}

function showSampling() {
  const fixed = samplingChoice() === "fixed";
  $("samples").disabled = !fixed;
  $("max-samples").disabled = fixed; // a fixed run asks exactly `samples`; the cap is an adaptive run's
}

// -- submitting -------------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  showProblem($("submit-problem"), null);
  let body;
  try {
    body = formBody();
  } catch (problem) {
    showProblem($("submit-problem"), problem);
    return;
  }
  $("submit").disabled = true;
  $("submit-status").textContent = "Uploading…";
  try {
    const submitted = await apiJson("/explanations", { method: "POST", body });
    $("submit-status").textContent = "Queued; opening its page…";
    window.location.assign(viewUrl(submitted.id));
  } catch (problem) {
    $("submit-status").textContent = "";
    showProblem($("submit-problem"), problem);
  } finally {
    $("submit").disabled = false;
  }
}

/** The multipart body; an ApiProblem-shaped error for what is missing or malformed here. */
function formBody() {
  const audio = $("audio").files[0];
  if (!audio) throw new ApiProblem(0, "Missing audio", "choose a clip to explain");
  const body = new FormData();
  body.append("audio", audio, audio.name);
  const request = explanationRequest();
  body.append("request", new Blob([JSON.stringify(request)], { type: "application/json" }), "request.json");
  if (request.separator === "provided") {
    for (const stem of $("stems").files) body.append(`stem.${stemName(stem.name)}`, stem, stem.name);
  }
  return body;
}

function stemName(filename) {
  const dot = filename.lastIndexOf(".");
  return dot > 0 ? filename.slice(0, dot) : filename;
}

function explanationRequest() {
  const url = $("tagger-url").value.trim();
  if (!url) throw new ApiProblem(0, "Missing tagger URL", "name the tagger to explain, e.g. http://127.0.0.1:8601/predict");
  const tagger = { url, protocol: $("protocol").value };
  optionalNumber("sample-rate", (value) => { tagger.sample_rate = value; });
  const options = jsonObject("options", "Protocol options");
  if (options) tagger.options = options;
  const headers = jsonObject("tagger-headers", "Tagger headers");
  if (headers) tagger.headers = headers;
  const request = { tagger, separator: $("separator").value, targets: targets(), sampling: sampling() };
  if (request.sampling.strategy === "fixed") {
    optionalNumber("samples", (value) => { request.samples = value; });
    if (request.samples === undefined) throw new ApiProblem(0, "Missing sample count", "a fixed run needs its number of samples");
  }
  optionalNumber("segments", (value) => { request.segments = value; });
  return request;
}

/** The `sampling` part: the strategy, the claim's kind, the estimator, confidence and size, an adaptive run's cap. */
function sampling() {
  const chosen = { strategy: samplingChoice(), claim: $("claim").value };
  if ($("estimator").value) chosen.estimator = $("estimator").value;  // absent: the service's default
  optionalFraction("confidence", (value) => { chosen.confidence = value; });
  optionalNumber("claim-k", (value) => { chosen.top_k = value; });
  if (chosen.strategy === "adaptive") optionalNumber("max-samples", (value) => { chosen.max_samples = value; });
  return chosen;
}

function optionalFraction(id, use) {
  const raw = $(id).value.trim();
  if (raw === "") return;
  const value = Number(raw);
  if (!(value > 0 && value < 1)) throw new ApiProblem(0, "Invalid number", `${$(id).labels[0].textContent}: ${raw} is not between 0 and 1`);
  use(value);
}

function targets() {
  if (targetsChoice() === "top_k") {
    return { top_k: Number($("top-k").value) || 1 };
  }
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  if (!tags.length) throw new ApiProblem(0, "Missing tags", "list the tags to explain, separated by commas");
  return { tags };
}

function optionalNumber(id, use) {
  const raw = $(id).value.trim();
  if (raw === "") return;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new ApiProblem(0, "Invalid number", `${$(id).labels[0].textContent}: ${raw} is not a whole number`);
  use(value);
}

function jsonObject(id, what) {
  const raw = $(id).value.trim();
  if (!raw) return null;
  let value;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new ApiProblem(0, `${what} are not valid JSON`, error.message);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiProblem(0, `${what} must be a JSON object`, `got ${raw}`);
  }
  return value;
}

// -- the caller's explanations ----------------------------------------------------------------

/** The first page anew, or with `next` (the previous page's link) the page after, appended. */
async function listJobs(next = null) {
  const rows = $("jobs").tBodies[0];
  const appending = next !== null;
  const path = next ?? `/explanations?limit=${PAGE}`;
  let page;
  try {
    page = await apiJson(apiPath(path));
  } catch (problem) {
    showProblem($("jobs-problem"), problem);
    return;
  }
  showProblem($("jobs-problem"), null);
  if (!appending) rows.replaceChildren();
  rows.append(...page.items.map(jobRow));
  $("jobs-empty").hidden = page.total > 0;
  $("jobs").hidden = page.total === 0;
  nextPage = page.next;
  $("jobs-more").hidden = !nextPage;
}

function jobRow(job) {
  const row = element("tr", { "data-job-id": job.id });
  const link = element("a", { href: viewUrl(job.id) });
  link.append(element("code", {}, job.id.slice(0, 12)));
  const cell = element("td");
  cell.append(link);
  const progress = element("td");
  const bar = element("progress", { max: "100", value: String(job.progress.percent), "aria-label": `progress of ${job.id}` });
  progress.append(bar, ` ${job.progress.percent.toFixed(0)} %`);
  row.append(cell, element("td", { class: `stage stage-${job.stage}` }, job.stage), progress,
    element("td", {}, when(job.created_at)));
  return row;
}

/** A `next` link as the API gives it (under the script root) as a path for apiJson. */
function apiPath(path) {
  return path.startsWith(root) && root ? path.slice(root.length) : path;
}

// -- the caller's studies ---------------------------------------------------------------------

async function listStudies(next = null) {
  const rows = $("studies").tBodies[0];
  let page;
  try {
    page = await apiJson(apiPath(next ?? `/studies?limit=${PAGE}`));
  } catch (problem) {
    showProblem($("studies-problem"), problem);
    return;
  }
  showProblem($("studies-problem"), null);
  if (next === null) rows.replaceChildren();
  rows.append(...page.items.map(studyRow));
  $("studies-empty").hidden = page.total > 0;
  $("studies").hidden = page.total === 0;
  nextStudies = page.next;
  $("studies-more").hidden = !nextStudies;
}

function studyRow(study) {
  const row = element("tr", { "data-study-id": study.id });
  const link = element("a", { href: studyUrl(study.id) });
  link.append(element("code", {}, study.id.slice(0, 12)));
  const cell = element("td");
  cell.append(link);
  const { done, total, percent } = study.progress;
  const progress = element("td");
  const bar = element("progress", { max: "100", value: String(percent), "aria-label": `clips ended in ${study.id}` });
  progress.append(bar, ` ${done} of ${total}`);
  row.append(cell, element("td", { class: `stage stage-${study.status}` }, study.status), progress,
    element("td", {}, when(study.created_at)));
  return row;
}
