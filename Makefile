# Two commands do all the set-up: `make run` (the whole stack) and `make test` (the suite).
export PYTHONPATH := $(CURDIR)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MODEL_DIR ?= models
INSTALLED := $(VENV)/.installed
MODEL := $(MODEL_DIR)/2stems/.probe

.DEFAULT_GOAL := setup
include taggers/mlserver/mlserver.mk
include taggers/musicnn/musicnn.mk
include tests/browser/browser.mk

.PHONY: setup models run test test-fast bench bench-service bench-protocols bench-sampling bench-interactions bench-study bench-fairness bench-study-musicnn bench-verification study-clips real-clips clean

setup: $(INSTALLED) $(MODEL)

$(INSTALLED): requirements.in constraints.txt clients/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.in -c constraints.txt
	$(PY) -m pip install --quiet --no-deps spleeter==2.4.2
	$(PY) -m pip install --quiet -e clients -c constraints.txt
	touch $@

models: $(MODEL)

$(MODEL): $(INSTALLED) worker/spleeter_models.py
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) -m worker.spleeter_models build
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) -m worker.spleeter_models example

run: setup musicnn-venv
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) -m scripts.stack

test: setup mlserver-venv musicnn-venv browser
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) -m pytest

test-fast: $(INSTALLED)
	$(PY) -m pytest -m "not slow"

bench: setup
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) bench/engine_bench.py

bench-service: setup
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) bench/service_bench.py

bench-protocols: setup
	$(PY) bench/protocol_bench.py

# A study of 16 short clips (hpss) with 1, 2 and 4 workers against a tagger of 8 fixed-latency slots.
bench-study: setup
	$(PY) bench/study_bench.py

# Key A's study of 40 short clips, then key B's one explanation, on 2 workers: fair turns against one FIFO.
bench-fairness: setup
	$(PY) bench/fairness_bench.py

# The musicnn study over the six study clips (about 30 minutes on 2 cores): the README's faithfulness figure.
bench-study-musicnn: setup musicnn-venv study-clips
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) bench/study_musicnn.py
	cp bench/output/study-musicnn-pooled.png docs/study-musicnn.png

# Builds (once, about 7 minutes) and replays the musicnn answers to every mask of the example clip.
# Freely licensed study clips, composed and rendered here (bench/study_clips.py): FluidSynth from Debian.
study-clips: setup
	command -v fluidsynth >/dev/null && test -f /usr/share/sounds/sf2/FluidR3_GM.sf2 || \
		(apt-get install -y -q fluidsynth fluid-soundfont-gm || sudo apt-get install -y -q fluidsynth fluid-soundfont-gm)
	$(PY) bench/study_clips.py

# Ten real soundtrack excerpts for judging (bench/real_clips.py): two game-music packages from Debian's archive.
real-clips: setup
	$(PY) bench/real_clips.py

# Verified parts with musicnn over the study clips (tuning) and the real clips (judging), per way of switching off.
bench-verification: setup musicnn-venv study-clips real-clips
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) bench/verification_bench.py

# Adaptive sampling against references (the border cases, 1,000 seeds each, measure calibration where it binds);
# the example clip's finer layouts ask musicnn about every mask they
# draw once (about two hours on a fresh machine, remembered in bench/output), then replay; ten real clips
# at 3 x 10 (clips-3x10) the same way (about an hour and three quarters of musicnn first).
bench-sampling: setup musicnn-venv real-clips
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) bench/sampling_bench.py

# how fast g learns musicnn's interactions at 3 x 10 (replays bench-sampling's kept answers).
bench-interactions: setup musicnn-venv
	AUDIOLIME_MODEL_DIR=$(MODEL_DIR) $(PY) bench/interaction_bench.py

clean:
	rm -rf $(VENV) $(MODEL_DIR)
