# Quick start on Debian or Raspberry Pi OS:  make demo   |   make test
# Each target installs what is missing: python3-venv and mosquitto (and, for the tests, chromium
# with its driver) with apt-get, and the virtual environment in .venv.

VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := python3-venv mosquitto

TRAIN_VENV := .venv-train
DATA := ../shared/data

.PHONY: demo test lint system-packages browser-packages evaluate

demo: $(VENV)/installed
	$(BIN)/edge demo

test: $(VENV)/installed browser-packages lint
	$(BIN)/python -m pytest

lint: $(VENV)/installed
	$(BIN)/ruff check
	$(BIN)/mypy

system-packages:
	@missing=""; \
	python3 -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	PATH="$$PATH:/usr/sbin:/usr/local/sbin" command -v mosquitto >/dev/null || missing="$$missing mosquitto"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The status page's tests drive a real headless Chromium.
browser-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/installed: pyproject.toml | system-packages
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Not part of the quick start: training and evaluation need the `train` extra (TensorFlow,
# scikit-learn, wfdb) in their own environment, and the recordings in $(DATA).
evaluate: $(TRAIN_VENV)/installed
	$(TRAIN_VENV)/bin/python -m tools.evaluate $(DATA)

$(TRAIN_VENV)/installed: pyproject.toml | system-packages
	python3 -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install --quiet --upgrade pip
	$(TRAIN_VENV)/bin/pip install --quiet -e '.[test,train]'
	touch $@
