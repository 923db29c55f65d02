"""The OIP client against a real third-party server: MLServer 1.7.1 serving the band tagger."""
import numpy as np
import pytest

from taggers.reference import band_levels
from tests.taggers.test_mlserver_band_tagger import start_server, stop_server
from worker.tagger_client.client import TaggerClient
from backend.tagger.netguard import NetworkPolicy, guarded_session
from backend.tagger.spec import TaggerSpec

pytestmark = pytest.mark.slow
RATE = 16000


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory):
    process, url = start_server(tmp_path_factory.mktemp("mlserver") / "mlserver.log")
    yield url
    stop_server(process)


def mixes(count=3, seconds=1.0):
    t = np.arange(int(seconds * RATE)) / RATE
    tones = [0.5 * np.sin(2 * np.pi * f * t) for f in (110, 1000, 4000)][:count]
    return np.stack(tones).astype(np.float32)[:, :, None]


def client(url, **options):
    spec = TaggerSpec(url=url, protocol="oip", options={"model": "band-tagger", **options}, retries=0)
    return TaggerClient(spec, guarded_session(NetworkPolicy.from_string("127.0.0.0/8")))


@pytest.mark.parametrize("options", [{}, {"binary": False, "binary_output": False}], ids=["auto", "json"])
def test_scores_from_mlserver_are_the_band_levels(mlserver, options):
    tagger = client(mlserver, **options)
    batch = mixes()
    predictions = tagger.predict(batch)
    assert predictions.labels == ("low", "mid", "high", "loud")  # from the output's metadata
    expected = [band_levels(clip[:, 0].astype(np.float64), RATE) for clip in batch]
    np.testing.assert_allclose(predictions.scores, expected, rtol=1e-5, atol=1e-7)


def test_auto_falls_back_to_json_where_the_server_has_no_binary_extension(mlserver):
    tagger = client(mlserver)
    tagger.predict(mixes(1))
    model = tagger.prepared()
    assert (model.binary, model.binary_output) == (False, False)
    # JSON numbers for 16,000 samples: several times the 64,000 bytes of raw FP32.
    assert tagger.stats.bytes_sent > 3 * 64000
