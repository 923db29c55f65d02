// How the pages write a confidence and a share: one rule per kind of number, the same as the
// client's (clients/audiolime_client/numbers.py); tests/browser/test_numbers.py holds the two to the
// same text for the same values. No imports and no DOM: it runs in node as in the page.

/** 0.87, 0.95, 0.999: two decimals, more only where two would round a doubt up to 1.00. */
export function confidenceText(value) {
  for (let digits = 2; digits <= 6; digits += 1) {
    const text = value.toFixed(digits);
    if (value >= 1 || Number(text) < 1) return text;
  }
  return value.toFixed(6);
}

/** A share in percent: whole, with decimals only where whole would round it to `avoid` (100, or
 * 0 for an interval's upper end) without its being that. */
export function percent(share, avoid = 100) {
  const fraction = Math.min(Math.max(share, 0), 1); // a sum rounded past 1 is all of it: 100, as the CLI says
  for (let digits = 0; digits <= 3; digits += 1) {
    const text = (100 * fraction).toFixed(digits);
    if (Number(text) !== avoid || 100 * fraction === avoid) return text;
  }
  return (100 * fraction).toFixed(3);
}

/** "96–99 %"; "99.6–100 %" and "0–0.1 %" where whole percents would hide how narrow it is. */
export function percentRange([low, high]) {
  return `${percent(low)}–${percent(high, 0)} %`;
}
