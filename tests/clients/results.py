"""Result documents as the API writes them (openapi.yaml: Explanation), for tests that need no service.

Two sources × three segments of one second. `explanation_json(weights)` is a result from before
the service reported how sure it is; `with_uncertainty` adds what it reports now.
"""
from __future__ import annotations

SOURCES = ("vocals", "accompaniment")
SEGMENTS = ((0.0, 1.0), (1.0, 2.0), (2.0, 3.0))


def explanation_json(weights: list[float], tag: str = "rock") -> dict:
    components = [{"index": i, "name": f"c{i}", "source": SOURCES[i // 3], "segment": i % 3,
                   "start": SEGMENTS[i % 3][0], "end": SEGMENTS[i % 3][1]} for i in range(6)]
    ranking = sorted(range(6), key=lambda i: -weights[i])
    return {
        "sources": list(SOURCES), "segments": [{"index": i, "start": a, "end": b} for i, (a, b) in enumerate(SEGMENTS)],
        "components": components, "residual": False, "settings": {}, "stats": {"samples": 512, "tagger_calls": 515},
        "provenance": {},
        "tags": [{"tag": tag, "original_score": 0.5, "weights": weights, "intercept": 0.1, "score": 0.9,
                  "local_prediction": 0.5, "ranking": ranking, "self_check": [
                      {"k": 1, "components": [ranking[0]], "score": 0.3, "top_tag": tag, "still_top": True}]}]}


def with_uncertainty(result: dict, *, half_width: float, claimed: list[int], tied: list[int] = (), top_k: int = 3,
                     confidence: float = 0.97, converged: bool = True, kind: str = "strict") -> dict:
    """The result with symmetric intervals of `half_width`, a claim, group shares and adaptive stats."""
    explained = result["tags"][0]
    weights = explained["weights"]
    explained["weight_se"] = [half_width / 1.96] * len(weights)
    explained["weight_interval"] = [[w - half_width, w + half_width] for w in weights]
    explained["stability"] = {"top_k": top_k, "claimed": len(claimed), "components": claimed, "tied": list(tied),
                              "confidence": confidence, "converged": converged, "samples_used": 256,
                              "distinct_masks": 242, "tolerance": 0.1, "target": 0.95, "kind": kind,
                              "method": "sandwich"}
    explained["groups"] = {"sources": [_group(result, "source", name) for name in SOURCES],
                           "segments": [_group(result, "segment", index) for index in range(len(SEGMENTS))]}
    result["stats"] = {"samples": 256, "unique_masks": 242, "exhaustive": False, "tagger_calls": 118, "reused": 128,
                       "strategy": "adaptive", "design": "paired", "stop_reason": "converged", "rounds": 3,
                       "confidence_trace": [[128, 0.0], [192, 0.82], [256, confidence]],
                       "tagger": {"requests": 17, "retries": 0, "errors": 0, "bytes_sent": 1000}}
    return result


def _group(result: dict, key: str, value) -> dict:
    weights = result["tags"][0]["weights"]
    members = [c["index"] for c in result["components"] if c[key] == value]
    positive = sum(max(w, 0.0) for w in weights) or 1.0
    share = sum(max(weights[i], 0.0) for i in members) / positive
    total = sum(weights[i] for i in members)
    return {"name": str(value), "components": members, "weight": total, "weight_interval": [total - 0.01, total + 0.01],
            "positive_share": share, "positive_share_interval": [max(0.0, share - 0.02), min(1.0, share + 0.01)]}
