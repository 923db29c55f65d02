"""Request bodies written without json.dumps (backend/tagger/protocols/base.py): valid JSON, exact values."""
import base64
import json

import numpy as np
import pytest

from backend.tagger.protocols.base import base64_string, json_array, json_numbers, json_object


def parsed(values) -> np.ndarray:
    return np.array(json.loads(json_numbers(values)), dtype=np.float64)


def test_audio_round_trips_to_within_half_a_unit_of_the_seventh_decimal():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.uniform(-1, 1, 100_000), rng.uniform(-99.4, 99.4, 1000)]).astype(np.float32)
    assert np.max(np.abs(parsed(values) - values.astype(np.float64))) <= 0.5e-7 + 1e-12


@pytest.mark.parametrize("value, text", [
    (0.0, b"0.0000000"), (-1.0, b"-1.0000000"), (1.0, b"1.0000000"), (0.5, b"0.5000000"),
    (-0.25, b"-0.2500000"), (12.3456789, b"12.3456789"), (-99.0, b"-99.0000000"),
    (0.99999999, b"1.0000000"), (9.99999999, b"10.0000000"), (1e-8, b"0.0000000"), (0.0001234, b"0.0001234"),
])
def test_each_number_is_written_exactly(value, text):
    assert json_numbers([value]).strip(b"[] ") == text


def test_fields_are_fixed_width_and_the_array_is_valid_json():
    body = json_numbers([0.1, -0.2, 3.0])
    assert body.startswith(b"[") and body.endswith(b"]")
    assert [len(field) for field in body[1:-1].split(b",")] == [11, 11, 11]
    assert json.loads(body) == [0.1, -0.2, 3.0]


def test_large_values_and_empty_arrays_fall_back_to_plain_json():
    assert json.loads(json_numbers([150.5, -1.0])) == [150.5, -1.0]
    assert json.loads(json_numbers(np.zeros((0,)))) == []


def test_shape_is_flattened_row_major():
    assert parsed(np.array([[0.1, 0.2], [0.3, 0.4]])).tolist() == [0.1, 0.2, 0.3, 0.4]


def test_base64_arrays_are_json_strings_or_keyed_objects():
    files = [b"RIFF\x00\xff", b"", bytes(range(256))]
    assert [base64.b64decode(s) for s in json.loads(json_array(map(base64_string, files)))] == files
    keyed = json_array(json_object("b64", base64_string(f)) for f in files)
    assert [base64.b64decode(o["b64"]) for o in json.loads(keyed)] == files
    assert json.loads(json_array([])) == []


def test_object_keys_are_escaped():
    assert json.loads(json_object('a "quoted" key', b"[1]")) == {'a "quoted" key': [1]}


@pytest.mark.parametrize("options, channels", [({"input": "samples", "instance_key": "audio"}, 1),
                                               ({"input": "b64_wav", "instance_key": "audio"}, 1),
                                               ({"input": "samples"}, 2), ({"input": "b64_wav"}, 1)])
def test_kserve_v1_instances_carry_every_clip_in_each_shape(options, channels):
    from engine.codec import decode
    from backend.tagger.protocols import kserve_v1
    from backend.tagger.spec import TaggerSpec

    spec = TaggerSpec(url="http://127.0.0.1:1/v1/models/m:predict", protocol="kserve_v1", channels=channels,
                      options=options)
    clips = np.random.default_rng(0).uniform(-1, 1, (3, 800, channels)).astype(np.float32)
    instances = json.loads(kserve_v1.build_request(clips, spec).body)["instances"]
    if "instance_key" in options:
        instances = [instance["audio"] for instance in instances]
    if options["input"] == "b64_wav":
        decoded = np.stack([decode(base64.b64decode(i["b64"]))[0] for i in instances])
        np.testing.assert_allclose(decoded, clips, atol=1 / 32768)
    else:
        expected = clips[:, :, 0] if channels == 1 else clips
        np.testing.assert_allclose(np.array(instances), expected, atol=1e-7)
