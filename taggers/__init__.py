"""Tagger servers that the service can explain; `reference` is a deterministic one with a known answer."""
