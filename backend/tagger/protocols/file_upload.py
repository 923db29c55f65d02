"""File-upload APIs, the shape of most commercial taggers: one clip per request as a multipart file.

`tagger.url` is the upload URL. `tagger.options`: `scores_path` (required): a
JMESPath expression that picks, from the JSON answer, either a {tag: score}
object or a list of objects with a name and a score (`name_key`, `score_key`,
default "name" and "score"); `field` (the file's form field, default "file");
`filename` (default "clip.wav"); `form` (extra form fields, strings).
Throughput comes from `concurrency`, not batching.
"""
from __future__ import annotations

import jmespath
import numpy as np
import requests
from jmespath.exceptions import JMESPathError
from urllib3 import encode_multipart_formdata

from engine.codec import MEDIA_TYPES, Encoding, encode_batch
from engine.errors import InvalidOptionError, TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote

from .base import Outgoing, check_keys, is_number, json_body

DEFAULT_BATCH_SIZE = 1
MAX_BATCH_SIZE = 1


def check_options(options: dict) -> dict:
    check_keys(options, {"scores_path"}, {"field", "filename", "form", "name_key", "score_key"}, "file_upload")
    try:
        jmespath.compile(options["scores_path"])
    except (JMESPathError, TypeError) as exc:
        raise InvalidOptionError(f"tagger.options.scores_path is not a JMESPath expression: {exc}") from exc
    form = options.get("form", {})
    if not isinstance(form, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in form.items()):
        raise InvalidOptionError("tagger.options.form must be an object of string fields")
    for name in ("field", "filename", "name_key", "score_key"):
        if name in options and (not isinstance(options[name], str) or not options[name]):
            raise InvalidOptionError(f"tagger.options.{name} must be a non-empty string")
    return {"field": "file", "filename": "clip.wav", "form": {}, "name_key": "name", "score_key": "score", **options}


def prepare(spec, fetch) -> jmespath.parser.ParsedResult:
    return jmespath.compile(spec.options["scores_path"])


def build_request(clips: np.ndarray, spec, prepared=None) -> Outgoing:
    if len(clips) != 1:
        raise InvalidOptionError(f"file_upload sends one clip per request, got a batch of {len(clips)}")
    (data,) = encode_batch(clips, spec.sample_rate, spec.encoding)
    options = spec.options
    fields = {**options["form"], options["field"]: (options["filename"], data, MEDIA_TYPES[Encoding(spec.encoding)])}
    body, content_type = encode_multipart_formdata(fields)
    return Outgoing(body, content_type)


def parse_response(response: requests.Response, n_clips: int, spec, path) -> Predictions:
    document = json_body(response)
    found = path.search(document)
    options = spec.options
    if isinstance(found, dict) and found and all(map(is_number, found.values())):
        labels, scores = tuple(found), [list(found.values())]
    elif isinstance(found, list) and found and all(_named_score(item, options) for item in found):
        labels = tuple(str(item[options["name_key"]]) for item in found)
        scores = [[item[options["score_key"]] for item in found]]
    else:
        raise TaggerResponseError(
            f"`{options['scores_path']}` picks {quote(found)} from the answer, not {{tag: score}} or a list of "
            f"{{{options['name_key']}, {options['score_key']}}} objects; the answer: {quote(document)}")
    if len(set(labels)) != len(labels):
        raise TaggerResponseError(f"the answer names a tag twice: {quote(list(labels))}")
    return check_predictions(Predictions(labels, np.array(scores, dtype=np.float64)), n_clips)


def _named_score(item, options: dict) -> bool:
    return isinstance(item, dict) and options["name_key"] in item and is_number(item.get(options["score_key"]))
