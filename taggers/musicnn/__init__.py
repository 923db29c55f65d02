"""The real pretrained musicnn tagger behind the Open Inference Protocol; runs in .venv-musicnn only."""
