# The real musicnn tagger (MSD_musicnn, TensorFlow 2.15) lives in its own virtualenv, .venv-musicnn/,
# since its TensorFlow and numpy pins have nothing to do with the service's. Include this file from
# the main Makefile, or run it alone from the repository root:
#     make -f taggers/musicnn/musicnn.mk musicnn-venv
# then start the tagger (it prints "listening on URL"):
#     .venv-musicnn/bin/python -m taggers.musicnn.server --host 127.0.0.1 --port 8602

# Including this file must not change the including Makefile's default goal.
MUSICNN_SAVED_GOAL := $(.DEFAULT_GOAL)

MUSICNN_PYTHON ?= python3.11
MUSICNN_VENV := .venv-musicnn
MUSICNN_PY := $(MUSICNN_VENV)/bin/python
MUSICNN_REQUIREMENTS := taggers/musicnn/requirements.txt
MUSICNN_INSTALLED := $(MUSICNN_VENV)/.installed

.PHONY: musicnn-venv musicnn-clean

musicnn-venv: $(MUSICNN_INSTALLED)

# requirements.txt is the whole pinned closure, installed with --no-deps (it says why).
$(MUSICNN_INSTALLED): $(MUSICNN_REQUIREMENTS)
	test -x $(MUSICNN_PY) || $(MUSICNN_PYTHON) -m venv $(MUSICNN_VENV)
	$(MUSICNN_PY) -m pip install --quiet --upgrade pip
	$(MUSICNN_PY) -m pip install --quiet --no-deps -r $(MUSICNN_REQUIREMENTS)
	$(MUSICNN_PY) -c "import musicnn.models, tensorflow"
	touch $@

musicnn-clean:
	rm -rf $(MUSICNN_VENV)

.DEFAULT_GOAL := $(MUSICNN_SAVED_GOAL)
