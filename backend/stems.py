"""Stems as the service keeps them: FLAC (24-bit) per source, read back in one order."""
from __future__ import annotations

from engine.codec import Encoding, decode, encode
from engine.errors import InvalidOptionError
from engine.sources import Sources


def sources_to_flac(sources: Sources) -> dict[str, bytes]:
    return {name: encode(sources[name], sources.sample_rate, Encoding.FLAC24) for name in sources.names}


# Spleeter's order, the paper's; other names (provided stems) follow alphabetically.
SOURCE_ORDER = ("vocals", "drums", "bass", "piano", "other", "accompaniment")
_RANK = {name: i for i, name in enumerate(SOURCE_ORDER)}


def source_order(names) -> list[str]:
    """One order for a set of source names, whatever order they were stored in.

    Component indices follow the source order, and Redis hashes do not keep field
    order, so every reader (a run, a resumed run, the audio endpoints) must sort alike.
    """
    return sorted(names, key=lambda name: (_RANK.get(name, len(_RANK)), name))


def sources_from_flac(stems: dict[str, bytes], expected_rate: int | None = None,
                      max_seconds: float | None = None) -> Sources:
    """Stored stems decoded, each into at most its header's length (and `max_seconds`, if given)."""
    decoded = {name: decode(stems[name], max_seconds) for name in source_order(stems)}
    rates = {rate for _, rate in decoded.values()}
    if len(rates) != 1 or (expected_rate is not None and rates != {expected_rate}):
        raise InvalidOptionError(f"stems have sample rates {sorted(rates)}; they must share one")
    return Sources.from_mapping({name: w for name, (w, _) in decoded.items()}, rates.pop())


def flac_round_trip(sources: Sources) -> tuple[Sources, dict[str, bytes]]:
    """Stems as stored, and as every later run (or resume) will read them back."""
    stems = sources_to_flac(sources)
    return sources_from_flac(stems), stems
