"""The band tagger as an MLServer custom runtime, served by MLServer from `.venv-mlserver/` (see README.md)."""
