"""How the client writes a confidence and a share: one rule per kind of number.

The listening pages write them with service/static/numbers.js, the same rules in JavaScript;
tests/browser/test_numbers.py holds the two to the same text for the same values, and the
README's examples are what these print.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def fixed(value: float, digits: int) -> str:
    """`value` with `digits` decimals, a tie rounded up, as JavaScript's toFixed does (Python's
    format rounds a tie to even: 12.5 would be 12 here and 13 on the page)."""
    return str(Decimal(value + 0.0).quantize(  # + 0.0: -0.0 is 0, as toFixed has it
        Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def confidence_text(value: float) -> str:
    """0.87, 0.95, 0.999: two decimals, more only where two would round a doubt up to 1.00."""
    for digits in range(2, 7):
        text = fixed(value, digits)
        if value >= 1 or float(text) < 1:
            return text
    return fixed(value, 6)


def percent(fraction: float, avoid: float = 100.0) -> str:
    """A share in percent: whole, with decimals only where whole would round it to `avoid`
    (100, or 0 for an interval's upper end) without its being that. A share is within [0, 1]: a sum
    that rounding took to 1.0000000000000002 is all of it, and says 100."""
    fraction = min(max(fraction, 0.0), 1.0)
    for digits in range(0, 4):
        text = fixed(100 * fraction, digits)
        if float(text) != avoid or 100 * fraction == avoid:
            return text
    return fixed(100 * fraction, 3)


def percent_range(low: float, high: float) -> str:
    """"96–99 %"; "99.6–100 %" and "0–0.1 %" where whole percents would hide how narrow it is."""
    return f"{percent(low)}–{percent(high, avoid=0.0)} %"
