"""File-upload APIs, the shape of most commercial taggers and of model hosts: one clip per request.

`tagger.url` is the upload URL. `tagger.options`:
  scores_path (required)  a JMESPath expression that picks, from the JSON answer, either a
                          {tag: score} object or a list of objects with a name and a score
                          (`name_key`, `score_key`, default "name" and "score"); "@" is the whole answer
  body                    "multipart" (default): the clip is a multipart/form-data file field;
                          "raw": the clip is the request body itself, with the Content-Type of
                          `tagger.encoding` (audio/wav or audio/flac) — Hugging Face audio
                          classification, TorchServe's /predictions/{model}
  field, filename, form   multipart only: the file's form field (default "file"), its file name
                          (default "clip.wav"), extra form fields (strings)
  labels                  the tagger's whole label set, for taggers that answer only their top few
                          labels: each answer is read onto it, a label an answer lacks scores 0 (and is
                          counted), a label outside it is an error. Without it every answer must name
                          the same labels.
Throughput comes from `concurrency`, not batching.
"""
from __future__ import annotations

import threading

import jmespath
import numpy as np
import requests
from jmespath.exceptions import JMESPathError
from urllib3 import encode_multipart_formdata

from engine.codec import MEDIA_TYPES, Encoding, encode_batch
from engine.errors import InvalidOptionError, TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote

from .base import FilledPredictions, Outgoing, check_keys, check_labels, is_number, json_body

DEFAULT_BATCH_SIZE = 1
MAX_BATCH_SIZE = 1
BODIES = ("multipart", "raw")
MULTIPART_ONLY = ("field", "filename", "form")
MULTIPART_DEFAULTS = {"field": "file", "filename": "clip.wav", "form": {}}


def check_options(options: dict) -> dict:
    check_keys(options, {"scores_path"}, {"body", "labels", "name_key", "score_key", *MULTIPART_ONLY},
               "file_upload")
    try:
        jmespath.compile(options["scores_path"])
    except (JMESPathError, TypeError) as exc:
        raise InvalidOptionError(f"tagger.options.scores_path is not a JMESPath expression: {exc}") from exc
    body = options.get("body", "multipart")
    if body not in BODIES:
        raise InvalidOptionError(f"tagger.options.body must be one of {list(BODIES)}, got {body!r}")
    if body == "raw" and set(MULTIPART_ONLY) & set(options):
        raise InvalidOptionError(f"tagger.options {sorted(set(MULTIPART_ONLY) & set(options))} are form fields "
                                 "of a multipart body; with body \"raw\" the clip is the whole request body")
    form = options.get("form", {})
    if not isinstance(form, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in form.items()):
        raise InvalidOptionError("tagger.options.form must be an object of string fields")
    for name in ("field", "filename", "name_key", "score_key"):
        if name in options and (not isinstance(options[name], str) or not options[name]):
            raise InvalidOptionError(f"tagger.options.{name} must be a non-empty string")
    check_labels(options.get("labels"))
    defaults = {"body": body, "name_key": "name", "score_key": "score"}
    return {**defaults, **(MULTIPART_DEFAULTS if body == "multipart" else {}), **options}


class Reading:
    """How answers are read for one job: the compiled path, and the labels of its first answer
    (without `options.labels`, every answer must name those)."""

    def __init__(self, path: jmespath.parser.ParsedResult):
        self.path = path
        self._first: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def same_labels(self, labels: tuple[str, ...]) -> None:
        with self._lock:
            first = self._first = self._first or labels
        if set(labels) != set(first):
            raise TaggerResponseError(
                f"the tagger's answers name different tags ({quote(sorted(set(first) ^ set(labels)))} in one answer "
                "but not the other): it answers only its top few. Give its whole label set as "
                "tagger.options.labels; a tag an answer lacks then scores 0")


def prepare(spec, fetch) -> Reading:
    return Reading(jmespath.compile(spec.options["scores_path"]))


def build_request(clips: np.ndarray, spec, prepared=None) -> Outgoing:
    if len(clips) != 1:
        raise InvalidOptionError(f"file_upload sends one clip per request, got a batch of {len(clips)}")
    (data,) = encode_batch(clips, spec.sample_rate, spec.encoding)
    options, media_type = spec.options, MEDIA_TYPES[Encoding(spec.encoding)]
    if options["body"] == "raw":
        return Outgoing(data, media_type)
    fields = {**options["form"], options["field"]: (options["filename"], data, media_type)}
    body, content_type = encode_multipart_formdata(fields)
    return Outgoing(body, content_type)


def parse_response(response: requests.Response, n_clips: int, spec, reading: Reading) -> Predictions:
    document = json_body(response)
    labels, scores = _scores(reading.path.search(document), document, spec.options)
    if len(set(labels)) != len(labels):
        raise TaggerResponseError(f"the answer names a tag twice: {quote(list(labels))}")
    if spec.options.get("labels") is not None:
        return check_predictions(_filled(labels, scores, spec.options["labels"], document), n_clips)
    reading.same_labels(labels)
    return check_predictions(Predictions(labels, np.array([scores], dtype=np.float64)), n_clips)


def _scores(found, document, options: dict) -> tuple[tuple[str, ...], list]:
    if isinstance(found, dict) and found and all(map(is_number, found.values())):
        return tuple(found), list(found.values())
    if isinstance(found, list) and found and all(_named_score(item, options) for item in found):
        return (tuple(str(item[options["name_key"]]) for item in found),
                [item[options["score_key"]] for item in found])
    raise TaggerResponseError(
        f"`{options['scores_path']}` picks {quote(found)} from the answer, not {{tag: score}} or a list of "
        f"{{{options['name_key']}, {options['score_key']}}} objects; the answer: {quote(document)}")


def _filled(named: tuple[str, ...], scores: list, labels: list[str], document) -> FilledPredictions:
    """The answer read onto the whole label set: a label it lacks scores 0, one outside the set is an error
    (reading it as another label, or dropping it, would explain the wrong thing)."""
    column = {label: index for index, label in enumerate(labels)}
    unknown = [label for label in named if label not in column]
    if unknown:
        raise TaggerResponseError(f"the answer names tags that are not in tagger.options.labels: {quote(unknown)}; "
                                  f"give the tagger's whole label set. The answer: {quote(document)}")
    where = [column[label] for label in named]
    row = np.zeros((1, len(labels)))
    row[0, where] = scores
    missing = np.ones((1, len(labels)), dtype=bool)
    missing[0, where] = False
    return FilledPredictions(tuple(labels), row, missing)


def _named_score(item, options: dict) -> bool:
    return isinstance(item, dict) and options["name_key"] in item and is_number(item.get(options["score_key"]))
