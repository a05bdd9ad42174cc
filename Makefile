# Quick start on Debian or Raspberry Pi OS:  make demo   |   make test
# Each target installs what is missing: python3-venv and mosquitto (with apt-get), and the
# virtual environment in .venv.

VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := python3-venv mosquitto

.PHONY: demo test lint system-packages

demo: $(VENV)/installed
	$(BIN)/edge demo

test: $(VENV)/installed lint
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

$(VENV)/installed: pyproject.toml | system-packages
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@
