# The two commands of the README:  `make demo` (main job) and `make test` (whole suite). Each installs what it
# needs first, so both work on a fresh machine. PYTHON may point at any Python >= 3.10.
PYTHON ?= python3
PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check
# Where torch comes from: the configured index by default; e.g. https://download.pytorch.org/whl/cpu for CPU torch
# on a machine whose index is PyPI (whose Linux torch is the CUDA build). See README, Install.
TORCH_INDEX ?=

.PHONY: install install-dev demo test lint golden

install:
# CPU torch first, pinned: a bare `torch` requirement would pull several GB of CUDA packages.
# encodec without its dependencies (they would replace torch via torchaudio); einops comes from the extra.
	$(PIP) torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) -e ".[encodec]"
	$(PIP) --no-deps encodec==0.1.1

install-dev: install
	$(PIP) -e ".[encodec,dev]"

demo: install
	$(PYTHON) -m vocos_stream.cli resynth data/speech/arctic_a0007_24k.wav out/resynth.wav

test: install-dev
	$(PYTHON) -m pytest -q

SOURCES := $(wildcard vocos_stream tests tools demos benchmarks)

lint: install-dev
	$(PYTHON) -m ruff check $(SOURCES)
	$(PYTHON) -m ruff format --check $(SOURCES)
	$(PYTHON) -m mypy

# Regenerate tests/golden with the ORIGINAL vocos 0.1.0 (see tools/golden_env.sh).
golden:
	bash tools/golden_env.sh /tmp/vocos_golden_env
	PYTHONPATH=/tmp/vocos_golden_env $(PYTHON) tools/make_golden.py
