"""Which answers a job may share with the same key's other jobs, and whether the kept ones still
hold before a job trusts them.

The answers context names the components and the tagger by everything a request says about them
(the headers as a keyed digest). But a tagger redeployed behind the same URL (a new model version)
answers otherwise with nothing in the request changed. So a job that would reuse kept answers first
asks the tagger again for the original mix and a few of the kept masks: when any answer moved by
more than TOLERANCE, every kept answer of the context is discarded and the job asks afresh. It is
a spot check: a model that changed only on mixes that were not asked again goes unnoticed, and
asking more of them again costs as many calls.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

import numpy as np

from backend.tagger.spec import TaggerSpec
from engine.audio import content_hash
from engine.components import Factorization
from engine.errors import TaggerResponseError
from engine.mixing import Off
from engine.perturbations import answer_key
from engine.tagger import Predictions, check_predictions

# Absolute, per tag: above the rounding of a deterministic tagger's float32 arithmetic and of the
# mix's encoding, far below what a new model or another variant changes.
TOLERANCE = 1e-4
SPOT_CHECKS = 3  # kept masks asked again besides the original mix
NOT_SHARED = ("answers are not shared: the tagger is called with headers, and this service has no "
              "AUDIOLIME_REUSE_SECRET to tell headers apart by")
TURNED_OFF = "the request turned reuse off: every mask is asked afresh, and its answers replace the kept ones"

# What makes an answer the same answer: the tagger's identity and input, not how hard it is tried.
TAGGER_IDENTITY = ("url", "protocol", "options", "sample_rate", "channels", "encoding", "input_seconds",
                   "input_policy")


def answers_context(factorization: Factorization, tagger: TaggerSpec, secret: str) -> str | None:
    """One id per (components, tagger): the same mask then makes the same mix for the same tagger,
    so its answer is shared between jobs with the same id. The components are identified by their
    audio (decoded samples: two uploads of one clip may differ in their headers), their segments
    and fades, which covers the clip, the separator or provided stems, and the residual; the tagger
    by its identity and its headers (which often choose a model, a version or an account), as a
    digest keyed with the service's `secret`. None when there are headers but no secret: such a job
    shares no answers. (How a mask's components are switched off is in each answer's own key:
    engine.perturbations.answer_key.)"""
    if tagger.headers and not secret:
        return None
    digest = hashlib.sha256()
    sources = factorization.sources
    for name, waveform in zip(sources.names, sources.waveforms):
        digest.update(name.encode() + b"\0" + content_hash(waveform, sources.sample_rate).encode())
    segments = [(s.start, s.end) for s in factorization.segments]
    identity = {k: getattr(tagger, k) for k in TAGGER_IDENTITY}
    identity["headers"] = headers_digest(tagger.headers, secret)
    described = {"tagger": identity, "segments": segments, "fade_seconds": factorization.fade_seconds}
    digest.update(json.dumps(described, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def headers_digest(headers: dict[str, str], secret: str) -> str | None:
    """The headers as HMAC-SHA256 under the service's secret: the same headers give the same digest,
    other headers another, and without the secret nothing stored confirms a guess of a value.
    Names are compared as HTTP does, case-insensitively."""
    if not headers:
        return None
    canonical = json.dumps(sorted((name.lower(), value) for name, value in headers.items()))
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


@dataclass
class ReuseReport:
    """What a result says about reuse (`stats.reuse`)."""
    checked: int = 0  # kept answers asked again (tagger calls of this job)
    discarded: bool = False  # the kept answers were thrown away
    reason: str | None = None  # why nothing was reused, when something could have been

    def to_dict(self) -> dict:
        return asdict(self)


def keys_to_check(kept: Iterable[bytes], n_components: int) -> list[bytes]:
    """The original mix's answer, if kept, and SPOT_CHECKS others spread over the kept ones in key
    order (a fixed choice: a resumed run checks the same). The original mix is the same mix however
    nothing is switched off, so one of its answers is asked again, the rest are alike."""
    originals = [answer_key(np.ones(n_components, dtype=bool), off) for off in Off]
    keys = sorted(kept)
    others = [k for k in keys if k not in originals]
    spread = others if len(others) <= SPOT_CHECKS else [others[i * len(others) // SPOT_CHECKS]
                                                        for i in range(SPOT_CHECKS)]
    return [k for k in originals if k in kept][:1] + spread


def moved(kept: Mapping[bytes, np.ndarray], labels: tuple[str, ...], keys: list[bytes],
          now: Predictions) -> tuple[Predictions, str | None]:
    """The answers asked again, aligned with the kept ones' labels, and why the kept answers no
    longer hold (None when every answer asked again is within TOLERANCE of the kept one)."""
    try:
        now = check_predictions(now, len(keys), labels)
    except TaggerResponseError as exc:
        return now, f"the tagger's tags changed since the answers were kept: {exc}"
    for key, scores in zip(keys, now.scores):
        distance = np.abs(scores - kept[key])
        if distance.max() > TOLERANCE:
            tag = int(distance.argmax())
            return now, (f"the tagger answers differently now: {labels[tag]!r} was {kept[key][tag]:.6g} and is "
                         f"{scores[tag]:.6g} for one of the {len(keys)} mixes asked again (tolerance {TOLERANCE:g})")
    return now, None
