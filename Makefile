# Assay — one entry point for every job. `make help` lists them.
SHELL := /bin/bash
UV ?= uv
SERVICES := assignment scoring review metrics webhooks
PYTEST := $(UV) run pytest

.PHONY: help install up down status demo test lint test-shared test-services test-console test-e2e bench-bus bench-assignment bench-scoring bench-scoring-service bench-sprt bench-review bench-export bench-label-errors bench-webhooks bench-system bench-console

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install:  ## install the locked workspace (uv from PyPI if missing)
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen

up: install  ## start every service (local servers from env, else the embedded stack)
	$(UV) run assay up

down:  ## stop what `make up` started
	$(UV) run assay down

status:  ## show the running stack
	$(UV) run assay status

demo: install  ## the main job: whole system on the embedded stack with simulated annotators
	$(UV) run assay demo

test: install lint test-shared test-services test-console test-e2e  ## every test, against real Postgres and real brokers

lint:  ## architecture contracts (import-linter: no service imports another, numerics never import Django) and ruff
	$(UV) run lint-imports
	$(UV) run ruff check .

test-shared:
	PYTHONPATH=shared/tests DJANGO_SETTINGS_MODULE=assay_bustest.settings $(PYTEST) shared/tests

test-services:
	@set -e; for s in $(SERVICES); do \
	  echo "== $$s =="; \
	  DJANGO_SETTINGS_MODULE=assay_$$s.settings $(PYTEST) services/$$s; \
	done

test-console:  ## the console in a real browser (Debian's /usr/bin/chromium via Playwright) on the real services
	$(PYTEST) services/console

test-e2e:
	$(PYTEST) tests

bench-bus: install  ## events/s and relay lag on RabbitMQ and on the embedded stack
	$(UV) run python -m assay_shared.bench.bus

bench-assignment: install  ## closed-loop next→submit benchmark of task assignment
	$(UV) run python services/assignment/bench/run.py $(ARGS)

bench-scoring: install  ## consensus accuracy on ../shared/data and the generated stress sets, speed, box figures
	$(UV) sync --frozen --group bench
	$(UV) run --group bench python services/scoring/bench/run.py $(ARGS)

bench-sprt: install  ## sequential qualification exam vs the fixed exam at equal error rates (simulation, seeded)
	$(UV) run python services/metrics/bench/sprt.py $(ARGS)

bench-review: install  ## sampling decisions/s and reviewer claim cycles
	$(UV) run python services/review/bench/sampling.py $(ARGS)

bench-export: install  ## 1M final labels exported as JSON Lines over HTTP: time and the server's memory
	$(UV) run python services/review/bench/export.py $(ARGS)

bench-label-errors: install  ## label errors found by model predictions (cleanlab) vs random review at 5/10/20% budgets
	$(UV) run python services/review/bench/label_errors.py $(ARGS)

bench-scoring-service: install  ## submissions/s through the scoring service's event handler, refit time
	DJANGO_SETTINGS_MODULE=assay_scoring.settings $(PYTEST) services/scoring/tests/bench_pipeline.py -q -s

bench-webhooks: install  ## events recorded/s and signed deliveries/s to a local receiver
	$(UV) run python services/webhooks/bench/run.py $(ARGS)

bench-console: install  ## server time of each console page (p50/p95, calls to services) with 200 annotators and 100k tasks
	$(UV) run python services/console/bench/run.py $(ARGS)

bench-system: install  ## all five services under open-loop load: applied/s, lag and CPU per service, invariants by id
	$(UV) run python -m assay_shared.bench.system $(ARGS)

.PHONY: bench-pipeline
bench-pipeline: install  ## tasks/s through a two-stage pipeline, p50/p99 of the stage-1 answer → stage-2 task hand-over
	$(UV) run python services/assignment/bench/pipeline.py $(ARGS)
