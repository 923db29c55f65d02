"""API keys: `Authorization: Bearer <key>`; each job belongs to the key that made it."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

from service.problems import Problem

ANONYMOUS = "anonymous"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="audiolime"'}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def load_key_hashes(settings) -> frozenset[str]:
    hashes = {key_hash(k) for k in settings.api_keys}
    if settings.api_keys_file:
        lines = settings.api_keys_file.read_text().splitlines()
        hashes |= {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}
    return frozenset(hashes)


def current_owner() -> str:
    """The caller's owner id, or a 401 problem. With no keys configured, everyone is one owner."""
    hashes = current_app.extensions["audiolime"].key_hashes
    if not hashes:
        return ANONYMOUS
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Problem(401, "Unauthorized", "send your API key as `Authorization: Bearer <key>`", CHALLENGE)
    digest = key_hash(key.strip())
    if not any(hmac.compare_digest(digest, known) for known in hashes):
        raise Problem(401, "Unauthorized", "the API key is not valid", CHALLENGE)
    return "key:" + digest[:24]
