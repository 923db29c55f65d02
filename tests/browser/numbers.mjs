// Writes the values given as JSON on stdin with the pages' own number rules (service/static/numbers.js)
// and prints them as JSON: tests/browser/test_numbers.py compares them with the client's.
import { readFileSync } from "node:fs";

const source = readFileSync(new URL("../../service/static/numbers.js", import.meta.url), "utf8");
const numbers = await import(`data:text/javascript,${encodeURIComponent(source)}`);
const values = JSON.parse(readFileSync(0, "utf8"));
console.log(JSON.stringify({
  confidence: values.confidence.map((v) => numbers.confidenceText(v)),
  percent: values.shares.map((v) => numbers.percent(v)),
  upper: values.shares.map((v) => numbers.percent(v, 0)),
  ranges: values.ranges.map((pair) => numbers.percentRange(pair)),
}));
