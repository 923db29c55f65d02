"""Tagger protocols: each module turns mixes into an HTTP request and a response into Predictions.

A protocol module provides:
  build_request(mixes, spec) -> Outgoing   (method, path suffix, body, content type)
  parse_response(response, n_clips) -> Predictions   (raises TaggerResponseError)
"""
from . import json_batch

PROTOCOLS = {"json": json_batch}
