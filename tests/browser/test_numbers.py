"""The page and the client write a confidence and a share the same way, for the same values.

The rules live twice, in service/static/numbers.js (the pages) and clients/audiolime_client/numbers.py
(the CLI, the notebook, the README's examples): node runs the page's file over values chosen where
rounding decides (ties, 99.5 %, a sum that rounding took past 1) and many random ones, and every
text must be the client's."""
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from audiolime_client.numbers import confidence_text, percent, percent_range

HERE = Path(__file__).resolve().parent
EDGES = [0.0, 1.0, 1.0000000000000002, -1e-17, 0.125, 0.005, 0.0005, 0.00049, 0.995, 0.9995, 0.99949, 0.999999,
         0.9999999, 0.5, 0.015, 0.025, 0.135, 0.945, 0.955, 0.96, 1 / 3, 2 / 3, 0.1 + 0.2, 1e-9]


def values() -> dict:
    draws = random.Random(20261205)
    shares = EDGES + [draws.random() for _ in range(500)] + [1 - 10 ** -draws.uniform(1, 7) for _ in range(200)] \
        + [10 ** -draws.uniform(1, 7) for _ in range(200)] + [draws.randrange(0, 100001) / 100000 for _ in range(300)]
    ranges = [sorted((draws.choice(shares), draws.choice(shares))) for _ in range(300)] + [[0.995, 1.0], [0.0, 0.0005]]
    return {"confidence": shares, "shares": shares, "ranges": ranges}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is missing")
def test_the_page_writes_every_number_as_the_client_does():
    given = values()
    done = subprocess.run(["node", "numbers.mjs"], cwd=HERE, input=json.dumps(given), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    client = {"confidence": [confidence_text(v) for v in given["confidence"]],
              "percent": [percent(v) for v in given["shares"]],
              "upper": [percent(v, avoid=0.0) for v in given["shares"]],
              "ranges": [percent_range(low, high) for low, high in given["ranges"]]}
    for kind, texts in client.items():
        differ = [(v, mine, theirs) for v, mine, theirs in
                  zip(given["ranges" if kind == "ranges" else "shares"], texts, page[kind]) if mine != theirs]
        assert not differ, f"{kind}: (value, client, page) {differ[:5]}"
    assert client["percent"][:4] == ["0", "100", "100", "0"] and client["percent"][4] == "13"  # 12.5 % rounds up
    assert client["ranges"][-2:] == ["99.5–100 %", "0–0.1 %"]
