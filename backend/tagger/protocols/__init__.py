"""Tagger protocols: one module per shape of tagger API, all behind `TaggerClient`.

A protocol module provides:
  DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE   clips per request
  check_options(options) -> dict       validates `tagger.options` (at submission)
  prepare(spec, fetch) -> prepared     learns what it must before the first batch (e.g. model
                                        metadata), with `fetch(Outgoing) -> requests.Response`
  build_request(clips, spec, prepared) -> Outgoing
  parse_response(response, n_clips, spec, prepared) -> Predictions   (TaggerResponseError if it does not fit)
"""
from . import file_upload, json_batch, kserve_v1, oip

PROTOCOLS = {"json": json_batch, "oip": oip, "kserve_v1": kserve_v1, "file_upload": file_upload}
