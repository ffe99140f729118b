# The README's commands: `make run` starts the system, `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

TOOLS := .tools
UV := $(TOOLS)/bin/uv
PY := .venv/bin/python
UV_VERSION := 0.13.9

.PHONY: help install fonts browsers run test test-unit bench docs schemas lint conformance clean

help:
	@echo "make run     start every service, the local S3 and demo data (Ctrl-C stops all)"
	@echo "make test    unit, integration and e2e tests against real PostgreSQL, RabbitMQ and S3"
	@echo "make bench   load figures against a running system (make run first;"
	@echo "             PIPELINE_BENCH_ARGS=--quick for a short pipeline run)"
	@echo "make docs    regenerate the AsyncAPI document and JSON Schemas"
	@echo "make lint    ruff and mypy"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.installed: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages
	@touch $@

install: .venv/.installed fonts

# Letters embeds Debian's DejaVu fonts in its PDFs (services/letters; WISER_LETTERS_FONT_DIR elsewhere).
fonts:
	@if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's fonts-dejavu-core for the letters"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null; \
	else echo "letters need the DejaVu fonts: sudo apt-get install fonts-dejavu-core"; fi

# The browser tests drive Debian's Chromium (Playwright never downloads a browser of its own).
browsers:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	else echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; fi

run: install
	$(PY) infra/local/run.py

test: install browsers
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not slow" libs services/*/tests/unit

# Each bench starts on a quiet machine (quiet.py waits for the pipeline to finish the last bench's packets).
QUIET := $(PY) infra/bench/quiet.py
# Order matters on one `make run`: clinical and outbound need a queue nobody else filled (the pipeline bench
# leaves thousands of open cases that take every reviewer's capacity), the list bench tops intake up to 100k
# packets, and the submit bench's thousands of packets keep the machine busy long after it.
bench: install
	$(QUIET) && $(PY) infra/bench/clinical_bench.py
	$(QUIET) && $(PY) infra/bench/outbound_bench.py
	$(QUIET) && cd infra/bench && ../../$(PY) validation_bench.py
	$(QUIET) && $(PY) infra/bench/letters_bench.py
	$(QUIET) && $(PY) infra/bench/analytics_bench.py
	$(QUIET) && $(PY) infra/bench/pipeline_bench.py $(PIPELINE_BENCH_ARGS)
	$(QUIET) && $(PY) infra/bench/token_flood_bench.py
	$(QUIET) && $(PY) infra/bench/list_bench.py
	$(QUIET) && $(PY) infra/bench/submit_bench.py

docs: install
	$(PY) -m wiser_contracts.schemas write
	$(PY) -m wiser_contracts.asyncapi > libs/contracts/asyncapi.json
	@echo "wrote libs/contracts/schemas/ and libs/contracts/asyncapi.json"

schemas: docs

lint: install
	$(TOOLS)/bin/uv run --frozen ruff check libs services infra tests
	$(TOOLS)/bin/uv run --frozen ruff format --check libs services infra tests
	$(TOOLS)/bin/uv run --frozen mypy libs/contracts/src libs/servicekit/src libs/x12/src infra/sandbox/src services/intake/src services/validation/src services/gateway/src services/clinical/src services/letters/src services/outbound/src services/analytics/src

conformance:
	python3 ../shared/conformance/partner_api_check.py

clean:
	rm -rf .venv $(TOOLS) .run
