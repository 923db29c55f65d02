"""Sentences the command line writes exactly as the listening page does (service/static/phrases.js):
tests/browser/test_phrases.py runs the page's file in node and compares every text with these."""
from __future__ import annotations


def plural(count: int | None, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def reuse_text(reuse: dict | None, reused: int | None) -> str | None:
    """What became of the answers kept from earlier jobs (`stats.reuse`): checked and trusted,
    discarded and why, or why none could be shared; None when there were none to speak of."""
    reuse = reuse or {}
    checked, reason = int(reuse.get("checked") or 0), reuse.get("reason")
    if reuse.get("discarded"):
        return f"kept answers discarded after asking {plural(checked, 'mask')} again: {reason}"
    if reason:
        return f"none ({reason})"
    if checked:
        return (f"{plural(reused or 0, 'answer')} from earlier jobs, trusted after the tagger answered "
                f"{checked} of them the same again")
    return None


def tolerant_clause(tolerance_percent: str | None) -> str:
    """What a tolerant claim is up to; `tolerance_percent` as numbers.percent writes it, or None."""
    within = "the tolerance" if tolerance_percent is None else f"{tolerance_percent} % of the largest weight"
    return f"(none left out above one of them by more than {within})"
