// Writes the cases given as JSON on stdin with the pages' own sentences (service/static/phrases.js)
// and prints them as JSON: tests/browser/test_phrases.py compares them with the client's.
import { readFileSync } from "node:fs";

const source = readFileSync(new URL("../../service/static/phrases.js", import.meta.url), "utf8");
const phrases = await import(`data:text/javascript,${encodeURIComponent(source)}`);
const cases = JSON.parse(readFileSync(0, "utf8"));
console.log(JSON.stringify({
  reuse: cases.reuse.map((stats) => phrases.reuseText(stats)),
  tolerant: cases.tolerant.map((written) => phrases.tolerantClause(written)),
}));
