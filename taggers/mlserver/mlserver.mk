# MLServer in its own virtualenv (.venv-mlserver/): a real third-party Open Inference Protocol server
# for the tests. It cannot share .venv/, since mlserver 1.7.1 needs protobuf>=5.27.2 and TensorFlow
# does not allow it. The main Makefile includes this fragment; the stamp rebuilds the venv from
# scratch only when the requirements or constraints change.
MLSERVER_PYTHON ?= python3.11
MLSERVER_VENV := .venv-mlserver
MLSERVER_DIR := taggers/mlserver
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed

.PHONY: mlserver-venv

mlserver-venv: $(MLSERVER_STAMP)

$(MLSERVER_STAMP): $(MLSERVER_DIR)/requirements.txt $(MLSERVER_DIR)/constraints.txt
	rm -rf $(MLSERVER_VENV)
	$(MLSERVER_PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MLSERVER_VENV)/bin/python -m pip install --quiet -r $(MLSERVER_DIR)/requirements.txt -c $(MLSERVER_DIR)/constraints.txt
	touch $@
