// The page of one study: its status and progress over clips (and tagger calls) while it runs, each
// clip's jobs with links to their listening pages; once every job has ended, the report: the figure
// (fetched with the key, shown from a blob: URL), per tag the source and segment shares with
// quartiles, the clips' top components, the faithfulness table and (when the explanations searched
// for them) the verified parts table, and the clips left out with their errors. Everything comes from the API with the key as a header; the cells are worded as
// `audiolime study` prints them.
import { $, KEY_EVENT, api, element, poller, setUpKeyForm, showProblem, viewUrl, when } from "./common.js";
import { percent, percentRange } from "./numbers.js";
import { plural } from "./phrases.js";

const ENDED = ["finished", "failed", "cancelled"];
const NONE = "—";

const page = $("study");
const base = `/studies/${encodeURIComponent(page.dataset.studyId)}`;
const state = { shown: false };
const poll = poller(base, $("problem"), showStudy);

setUpKeyForm();
document.addEventListener(KEY_EVENT, () => poll());
poll();

function showStudy(study) {
  showProgress(study);
  fillClips(study.clips);
  if (ENDED.includes(study.status) && study.report) {
    showReport(study);
    return false;
  }
  return true;
}

// -- progress and clips ---------------------------------------------------------------------

function showProgress(study) {
  const { done, total, percent: shown, failed, cancelled, tagger_calls: calls } = study.progress;
  page.dataset.status = study.status;
  $("progress-section").hidden = false;
  $("status").textContent = study.status;
  $("progress").value = shown;
  const left = [failed ? `${failed} failed` : "", cancelled ? `${cancelled} cancelled` : ""].filter(Boolean);
  $("progress-text").textContent = `${done} of ${total} clips (${shown.toFixed(1)} %)${left.length ? `, ${left.join(", ")}` : ""}`;
  $("calls").max = Math.max(1, calls.total);
  $("calls").value = calls.done;
  $("calls-text").textContent = `${calls.done} of ${calls.total}`;
  fillFacts($("study-facts"), studyFacts(study));
}

function studyFacts(study) {
  const request = study.request;
  const comparisons = request.comparisons || {};
  const targets = request.targets || {};
  return {
    tagger: `${request.tagger.url} (${request.tagger.protocol || "json"})`,
    separator: request.separator,
    tags: targets.tags ? targets.tags.join(", ") : targets.top_k ? `the tagger's top ${targets.top_k}` : null,
    "random baseline": comparisons.random ? `${comparisons.random} draws per k` : "none",
    comparison: comparisons.separator || "none",
    submitted: when(study.created_at),
    ended: when(study.finished_at),
    "kept until": when(study.expires_at),
  };
}

function fillClips(clips) {
  $("clips").tBodies[0].replaceChildren(...clips.map((clip) => {
    const row = element("tr", { "data-clip": clip.clip, "data-status": clip.status });
    row.append(element("td", {}, clip.clip), element("td", { class: `stage stage-${clip.status}` }, clip.status),
      jobCell(clip.explanation, "explanation"), jobCell(clip.comparison, "comparison"),
      element("td", {}, errorText(clip.error)));
    return row;
  }));
}

function jobCell(jobId, kind) {
  const cell = element("td");
  if (!jobId) {
    cell.textContent = NONE;
    return cell;
  }
  const link = element("a", { href: viewUrl(jobId), class: `job-link ${kind}`, "data-job-id": jobId });
  link.append(element("code", {}, jobId.slice(0, 12)));
  cell.append(link);
  return cell;
}

function errorText(error) {
  return error ? `${error.title}: ${error.detail}` : "";
}

// -- the report -------------------------------------------------------------------------------

function showReport(study) {
  if (state.shown) return; // a report never changes once there
  state.shown = true;
  const report = study.report;
  $("report").hidden = false;
  const failed = report.failed.length ? `; ${report.failed.length} more left out` : "";
  $("report-summary").textContent = report.tags.length
    ? `Over ${plural(report.clips, "clip")}${failed}; tagger calls: ${callsText(report.calls)}.`
    : `No clip's explanation finished${failed}: there are no statistics.`;
  $("tags").replaceChildren(...report.tags.map(tagSection));
  fillFailed(report.failed);
  loadFigure();
}

function callsText(calls) {
  return ["explanations", "faithfulness", "comparison"].filter((name) => calls[name])
    .map((name) => `${calls[name]} ${name}`).join(", ") || "none";
}

function tagSection(tag) {
  const section = $("tag-template").content.firstElementChild.cloneNode(true);
  section.dataset.tag = tag.tag;
  const unfitted = tag.unfitted ? `, ${tag.unfitted} unfitted` : "";
  section.querySelector(".tag-heading").textContent = `“${tag.tag}” over ${plural(tag.clips, "clip")}${unfitted}`;
  const sources = Object.keys(tag.source_shares);
  fillRows(section.querySelector(".source-shares"), sources.map((name) =>
    [name, shareText(tag.source_shares[name]), outerText(tag.source_share_quartiles[name])]));
  const segments = Object.keys(tag.segment_shares).sort((a, b) => Number(a) - Number(b));
  fillRows(section.querySelector(".segment-shares"), segments.map((index) =>
    [index, shareText(tag.segment_shares[index]), outerText(tag.segment_share_quartiles[index])]));
  fillRows(section.querySelector(".top-components"), tag.top_components.map((top) =>
    [top.source, String(top.segment), `${top.clips} of ${tag.clips}`]));
  fillRows(section.querySelector(".faithfulness"), tag.faithfulness.map(faithfulnessCells));
  const verified = section.querySelector(".verified");
  verified.hidden = !tag.faithfulness.some((row) => row.sufficient_clips || row.necessary_clips);
  if (!verified.hidden) fillRows(verified, tag.faithfulness.map(verifiedCells));
  return section;
}

/** One k, worded as the command line's faithfulness table (study_tables.faithfulness_cells). */
function faithfulnessCells(row) {
  const kept = row.clips ? `${row.kept}/${row.clips}` : NONE;
  const dropped = row.deletion_clips && row.dropped !== null ? `${row.dropped}/${row.deletion_clips}` : NONE;
  return [String(row.k), kept, shareText(row.share), intervalText(row.share_interval), shareText(row.random_share),
    shareText(row.comparison_share), dropped, shareText(row.dropped_share), intervalText(row.dropped_interval),
    shareText(row.random_dropped_share)];
}

/** One k of the verified parts, worded as the command line's (study_tables.verified_cells). */
function verifiedCells(row) {
  const part = (name) => [row[`${name}_clips`] && row[name] !== null ? `${row[name]}/${row[`${name}_clips`]}` : NONE,
    shareText(row[`${name}_share`]), intervalText(row[`${name}_interval`])];
  return [String(row.k), ...part("sufficient"), ...part("necessary")];
}

function shareText(share) {
  return share === null || share === undefined ? NONE : `${percent(share)} %`;
}

function intervalText(interval) {
  return interval ? percentRange(interval) : NONE;
}

function outerText(quartiles) {
  return quartiles ? percentRange([quartiles[0], quartiles[2]]) : NONE;
}

function fillRows(table, rows) {
  table.tBodies[0].replaceChildren(...rows.map((cells) => {
    const row = element("tr");
    row.append(...cells.map((cell) => element("td", {}, cell)));
    return row;
  }));
  if (!rows.length) table.tBodies[0].append(element("tr", {}, element("td", { colspan: String(table.tHead.rows[0].cells.length) }, NONE)));
}

function fillFailed(failed) {
  $("failed-section").hidden = !failed.length;
  $("failed-clips").tBodies[0].replaceChildren(...failed.map((item) => {
    const row = element("tr", { "data-clip": item.clip });
    row.append(element("td", {}, item.clip), element("td", {}, errorText(item.error)),
      jobCell(item.error && item.error.explanation, "explanation"));
    return row;
  }));
}

/** The figure as PNG (shown) and SVG (a download), each fetched with the key and kept as a blob. */
async function loadFigure() {
  const figure = $("figure");
  figure.dataset.state = "loading";
  try {
    const [png, svg] = await Promise.all(["png", "svg"].map(async (format) =>
      (await api(`${base}/figure?format=${format}`, { cache: "default" })).blob()));
    const image = $("figure-image");
    const loaded = new Promise((resolve, reject) => {
      image.addEventListener("load", resolve, { once: true });
      image.addEventListener("error", () => reject(new Error("the figure could not be decoded")), { once: true });
    });
    image.src = URL.createObjectURL(png);
    download($("figure-png"), png, "png");
    download($("figure-svg"), svg, "svg");
    await loaded;
    Object.assign(figure.dataset, { state: "ready", bytes: String(png.size), svgBytes: String(svg.size) });
  } catch (problem) {
    figure.dataset.state = "error";
    showProblem($("figure-problem"), problem.title ? problem : { title: "Figure", detail: String(problem.message || problem) });
  }
}

function download(link, blob, format) {
  link.href = URL.createObjectURL(blob);
  link.download = `study-${page.dataset.studyId.slice(0, 8)}.${format}`;
}

function fillFacts(list, facts) {
  list.replaceChildren();
  for (const [name, value] of Object.entries(facts)) {
    if (value === undefined || value === null || value === "") continue;
    list.append(element("dt", {}, name), element("dd", {}, String(value)));
  }
}
