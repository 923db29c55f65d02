// What the page scripts share: Chromium launched from Debian's package, arguments, and checks
// that hold on every page (no script errors, the key only ever in the Authorization header).
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.AUDIOLIME_CHROMIUM || "/usr/bin/chromium";

export function options(spec) {
  return parseArgs({ options: spec, strict: true }).values;
}

/** Headless Chromium that may play audio without a gesture, silently (no sound card here). */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--autoplay-policy=no-user-gesture-required", "--mute-audio"],
  });
}

/** Runs `run(page, seen)` in a fresh page of a watched context (see watchedContext) with `timeout`
 * as its default, `out` made first; prints the report `run` returns and closes the browser. */
export async function session({ key, origin, out, timeout }, run) {
  const browser = await launch();
  try {
    mkdirSync(out, { recursive: true });
    const { context, seen } = await watchedContext(browser, key, origin);
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    emit(await run(page, seen));
  } finally {
    await browser.close();
  }
}

/** A browser context that records page errors and every request's URL and Authorization header. */
export async function watchedContext(browser, key, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const seen = { errors: [], requests: [] };
  context.on("page", (page) => watch(page, seen));
  if (key) {
    // As a returning user: the key is already in this origin's localStorage when the page loads.
    // The init script runs in every document; those of other origins (about:blank, blob:) have no storage.
    await context.addInitScript(([value, origin]) => {
      if (window.location.origin !== origin) return;
      if (!window.localStorage.getItem("audiolime.apiKey")) window.localStorage.setItem("audiolime.apiKey", value);
    }, [key, origin]);
  }
  return { context, seen };
}

function watch(page, seen) {
  page.on("pageerror", (error) => seen.errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") seen.errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) seen.errors.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  page.on("request", (request) => {
    if (request.url().startsWith("blob:")) return;
    seen.requests.push({ url: request.url(), method: request.method(), authorization: request.headers().authorization || null });
  });
}

/** Requests whose URL contains the key, and API requests (from the `from`-th request on) sent without it. */
export function keyReport(seen, key, from = 0) {
  const api = seen.requests.slice(from).filter((r) => {
    const path = new URL(r.url).pathname;
    return (path.includes("/explanations") || path.includes("/studies")) && !path.endsWith("/view"); // the shells need no key
  });
  return {
    key_in_urls: seen.requests.filter((r) => key && r.url.includes(key)).map((r) => r.url),
    api_requests: api.length,
    api_requests_without_key: key ? api.filter((r) => r.authorization !== `Bearer ${key}`).map((r) => r.url) : [],
  };
}

/** The bytes behind an <audio> element's blob: src, read back in the page. */
export async function audioBytes(page, selector) {
  const base64 = await page.$eval(selector, async (audio) => {
    const buffer = new Uint8Array(await (await fetch(audio.src)).arrayBuffer());
    let text = "";
    for (let i = 0; i < buffer.length; i += 0x8000) text += String.fromCharCode(...buffer.subarray(i, i + 0x8000));
    return btoa(text);
  });
  return Buffer.from(base64, "base64");
}

/** A <dl>'s terms and descriptions as an object. */
export async function facts(page, selector) {
  return page.$eval(selector, (list) => Object.fromEntries(
    [...list.querySelectorAll("dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
}

export function emit(report) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
