// Sentences the pages write exactly as the command line does (clients/audiolime_client/phrases.py):
// tests/browser/test_phrases.py runs this file in node and compares every text with the client's.
// No imports, so that node can load it on its own; numbers come in already written (numbers.js).

/** "1 clip", "3 clips". */
export function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** What became of the answers kept from earlier jobs (stats.reuse); null when there were none to speak of. */
export function reuseText(stats) {
  const reuse = stats.reuse || {};
  const checked = reuse.checked || 0;
  if (reuse.discarded) return `kept answers discarded after asking ${plural(checked, "mask")} again: ${reuse.reason}`;
  if (reuse.reason) return `none (${reuse.reason})`;
  if (checked) {
    return `${plural(stats.reused || 0, "answer")} from earlier jobs, trusted after the tagger answered ${checked} of them the same again`;
  }
  return null;
}

/** What a tolerant claim is up to, after "top k claimed"; `tolerancePercent` as numbers.percent writes it, or null. */
export function tolerantClause(tolerancePercent) {
  const within = tolerancePercent === null ? "the tolerance" : `${tolerancePercent} % of the largest weight`;
  return `(none left out above one of them by more than ${within})`;
}
