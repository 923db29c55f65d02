// What the pages share: the API key, authorized fetches, problems, audio as blob URLs.
// The key lives in sessionStorage (this tab) or localStorage ("remember on this device") and is
// sent only as an Authorization header: never in a URL, so it cannot leak into logs or history.

const KEY_NAME = "audiolime.apiKey";
export const KEY_EVENT = "audiolime:key";
export const root = document.body.dataset.apiRoot || "";
export const $ = (id) => document.getElementById(id);

/** The listening page of one explanation. */
export function viewUrl(id) {
  return `${root}/explanations/${encodeURIComponent(id)}/view`;
}

/** The page of one study. */
export function studyUrl(id) {
  return `${root}/studies/${encodeURIComponent(id)}/view`;
}

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME) || localStorage.getItem(KEY_NAME) || "";
}

function storeKey(key, remember) {
  sessionStorage.removeItem(KEY_NAME);
  localStorage.removeItem(KEY_NAME);
  if (key) (remember ? localStorage : sessionStorage).setItem(KEY_NAME, key);
  document.dispatchEvent(new CustomEvent(KEY_EVENT));
}

/** An API error: the fields of its application/problem+json body. */
export class ApiProblem extends Error {
  constructor(status, title, detail) {
    super(`${title}: ${detail}`);
    Object.assign(this, { status, title, detail });
  }
}

async function problemOf(response) {
  try {
    const body = await response.json();
    return new ApiProblem(response.status, body.title || response.statusText, body.detail || "");
  } catch {
    return new ApiProblem(response.status, `HTTP ${response.status}`, response.statusText);
  }
}

/** fetch() against the API with the key as a header; a problem becomes an ApiProblem.
 * Uncached unless the caller says otherwise (`cache` in options): status and lists change. */
export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = apiKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(root + path, { cache: "no-store", ...options, headers });
  } catch (error) {
    throw new ApiProblem(0, "Service not reachable", String(error.message || error));
  }
  if (!response.ok) throw await problemOf(response);
  return response;
}

export async function apiJson(path, options = {}) {
  return (await api(path, options)).json();
}

const POLL_MS = 1000;
const RETRY_MS = 3000;

/**
 * A poll of one API document, shown by `show(document)`, which returns true while the document
 * should be polled again (its job or study still runs). Calling the returned function starts
 * over (a key change does): the poll then in flight stops. Problems are shown in `problemElement`;
 * an outage may pass, so it is retried, but a missing document or a wrong key is not, until the
 * key changes.
 */
export function poller(path, problemElement, show) {
  const state = { timer: null, polls: 0 };
  async function poll() {
    clearTimeout(state.timer);
    const ticket = ++state.polls;
    let body;
    try {
      body = await apiJson(path);
    } catch (problem) {
      if (ticket !== state.polls) return;
      showProblem(problemElement, problem);
      if (problem.status === 0 || problem.status >= 500) state.timer = setTimeout(poll, RETRY_MS);
      return;
    }
    if (ticket !== state.polls) return;
    showProblem(problemElement, null);
    if (show(body)) state.timer = setTimeout(poll, POLL_MS);
  }
  return poll;
}

export function showProblem(element, problem) {
  element.replaceChildren();
  if (!problem) {
    element.hidden = true;
    return;
  }
  const title = document.createElement("strong");
  title.textContent = problem.title || "Error";
  const detail = document.createElement("span");
  detail.textContent = problem.detail ? ` — ${problem.detail}` : "";
  element.append(title, detail);
  if (problem.status === 401) element.append(hint(" Enter your API key at the top of the page."));
  element.hidden = false;
}

function hint(text) {
  const span = document.createElement("span");
  span.className = "hint";
  span.textContent = text;
  return span;
}

/** Loads audio into an <audio> through an authorized fetch (an <audio src> cannot send headers).
 * The previous blob URL of the element is revoked; a slower, older load never overwrites a newer one. */
export async function loadAudio(audio, path) {
  const ticket = (audio._ticket || 0) + 1;
  audio._ticket = ticket;
  const response = await api(path, { cache: "default" }); // the service lets the browser keep audio an hour
  const blob = await response.blob();
  if (audio._ticket !== ticket) return null;
  const previous = audio._blobUrl;
  audio._blobUrl = URL.createObjectURL(blob);
  audio.src = audio._blobUrl;
  if (previous) URL.revokeObjectURL(previous); // after the switch: the element may still be reading it
  audio.dataset.path = path; // what the element holds: callers skip loading it again
  return response;
}

export function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== "") node.textContent = text;
  return node;
}


/** An API timestamp (ISO 8601, UTC) as people read it, to the second. */
export function when(iso) {
  return iso ? iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "";
}

/** Wires the key form in the page header; calls back when the key changes. */
export function setUpKeyForm() {
  const form = $("key-form");
  const input = $("api-key");
  const remember = $("remember-key");
  const status = $("key-status");
  const describe = () => {
    const where = localStorage.getItem(KEY_NAME) ? "on this device" : sessionStorage.getItem(KEY_NAME) ? "for this tab" : "";
    status.textContent = where ? `a key is in use (${where})` : "no key in use";
    remember.checked = Boolean(localStorage.getItem(KEY_NAME));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storeKey(input.value.trim(), remember.checked);
    input.value = "";
    describe();
  });
  $("forget-key").addEventListener("click", () => {
    storeKey("", false);
    describe();
  });
  describe();
}
