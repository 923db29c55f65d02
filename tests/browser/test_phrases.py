"""The page and the command line say what became of kept answers, and what a tolerant claim is up
to, in the same words: node runs the page's service/static/phrases.js over the cases and every
text must be clients/audiolime_client/phrases.py's."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from audiolime_client.numbers import percent
from audiolime_client.phrases import reuse_text, tolerant_clause

HERE = Path(__file__).resolve().parent
REUSE = [  # stats as the API writes them: reused, and reuse (absent in results from before it)
    {"reused": 52, "reuse": {"checked": 4, "discarded": False, "reason": None}},
    {"reused": 1, "reuse": {"checked": 1, "discarded": False, "reason": None}},
    {"reused": 0, "reuse": {"checked": 4, "discarded": True, "reason": "the tagger answers differently now: rock 0.2 → 0.6"}},
    {"reused": 0, "reuse": {"checked": 1, "discarded": True, "reason": "a kept answer was not JSON"}},
    {"reused": 0, "reuse": {"checked": 0, "discarded": False, "reason": "the request turned reuse off"}},
    {"reused": 0, "reuse": {"checked": 0, "discarded": False, "reason": None}},
    {"reused": 0},
]
TOLERANCES = [None] + [percent(t) for t in (0.1, 0.05, 0.125, 0.0, 1.0, 0.333)]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is missing")
def test_the_page_says_reuse_and_tolerant_claims_as_the_command_line_does():
    done = subprocess.run(["node", "phrases.mjs"], cwd=HERE, input=json.dumps({"reuse": REUSE, "tolerant": TOLERANCES}),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    assert page["reuse"] == [reuse_text(stats.get("reuse"), stats.get("reused")) for stats in REUSE]
    assert page["tolerant"] == [tolerant_clause(written) for written in TOLERANCES]
    assert page["reuse"][1] == "1 answer from earlier jobs, trusted after the tagger answered 1 of them the same again"
    assert page["reuse"][3].startswith("kept answers discarded after asking 1 mask again")
    assert page["reuse"][-2:] == [None, None]
    assert page["tolerant"][:2] == ["(none left out above one of them by more than the tolerance)",
                                    "(none left out above one of them by more than 10 % of the largest weight)"]
