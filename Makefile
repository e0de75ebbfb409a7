# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?= -q

.PHONY: run test lint format install install-dev clean bench bench-scale bench-reads chromium lighthouse deploy-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.run-deps
install-dev: $(VENV)/.dev-deps

## run: install, migrate, seed the demo when empty, start web + clock on 127.0.0.1:$(PORT)
run: $(VENV)/.run-deps
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo --if-empty
	@echo ""
	@echo "  ipt_groups is starting on http://127.0.0.1:$(PORT)"
	@echo "  API docs:  http://127.0.0.1:$(PORT)/api/docs"
	@echo "  Demo logins (password ipt-demo-2026):"
	@echo "    admin@example.org  supervisor@example.org  facilitator@example.org"
	@echo "  Demo participants: usernames demo-participant, demo-ana (running cohort), demo-cara (Spanish), PIN 246810"
	@echo "  A new participant joins with the invite link printed above (open it in a phone-sized window)."
	@echo "  Stop with Ctrl-C."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=127.0.0.1 exec $(BIN)/honcho --no-colour start -f Procfile -p $(PORT) web clock

## chromium: Debian's Chromium for the browser tests (Playwright cannot download one here)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "== installing Chromium with apt for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

## test: the whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set
test: $(VENV)/.dev-deps chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL"; \
		IPT_TEST_BACKEND=postgres $(BIN)/python -m pytest $(PYTEST_ARGS); \
	fi

## deploy-check: the Procfile's release, web and clock on a fresh PostgreSQL database, one
## reminder through the clock to the fake push service, then SIGTERM: both exit 0 within 30 s
DEPLOY_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/ipt_deploy_check
deploy-check: $(VENV)/.dev-deps
	DEPLOY_DATABASE_URL=$(DEPLOY_DATABASE_URL) $(BIN)/python tools/deploy_check.py

## bench: the push fan-out benchmark on PostgreSQL (prints figures; not a test)
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/ipt_bench
bench: $(VENV)/.dev-deps
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/push_fanout.py

## bench-scale: seed programme-scale data on PostgreSQL (SIZES = fractions of full scale) and
## load each size under gunicorn with wrk; prints tables, writes docs/bench-scale.png (not a test)
SIZES    ?= 0.1 0.5 1
BENCH_PG ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_ARGS ?=

$(VENV)/.bench-deps: requirements.txt bench/requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r bench/requirements.txt
	touch $@

bench-scale: $(VENV)/.bench-deps
	@command -v wrk >/dev/null 2>&1 || { \
		echo "== installing wrk with apt (the load generator)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; \
	}
	@dbs=""; for s in $(SIZES); do \
		db=ipt_scale_$$(echo $$s | tr . _); \
		echo "== seeding $$db (scale $$s)"; \
		$(BIN)/python bench/scale/seed.py --scale $$s --database $$db --server $(BENCH_PG) || exit 1; \
		echo "== loading $$db"; \
		$(BIN)/python bench/scale/run.py --database $$db $(BENCH_ARGS) || exit 1; \
		dbs="$$dbs $$db"; \
	done; \
	$(BIN)/python bench/scale/report.py $$dbs

## bench-reads: issue 24's figures on one seeded size (READS_SCALE, default full): seeds it when
## its manifest is missing, then in-process CPU (cpu_split.py, READS_ROUNDS times), wrk per
## endpoint (run.py), the open-loop peak-hour mix at 60 req/s and stepped up to capacity
## (openloop.py); rewrites the bench-reads part of docs/benchmarks.md and docs/bench-reads.svg
READS_SCALE  ?= 1
READS_ROUNDS ?= 3
READS_DB      = ipt_scale_$(subst .,_,$(READS_SCALE))
READS_WRK    ?= --connections 4 --seconds 10 --warmup 2 --only me,cohorts,runner,me_schedule,me_check_in,me_readings,cohort_outcomes,clinic_outcomes
READS_OPEN   ?= --rates 60 --seconds 60 --capacity --capacity-from 15 --step 15 --step-seconds 20
bench-reads: $(VENV)/.run-deps
	@command -v wrk >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; \
	}
	@test -f bench/scale/out/$(READS_DB).json || \
		$(BIN)/python bench/scale/seed.py --scale $(READS_SCALE) --database $(READS_DB) --server $(BENCH_PG)
	@# a database seeded by older code gets this code's migrations first
	DATABASE_URL=$(dir $(BENCH_PG))$(READS_DB) $(BIN)/flask --app wsgi db upgrade
	rm -f bench/scale/out/$(READS_DB)-reads-cpu-*.json
	for i in $$(seq $(READS_ROUNDS)); do \
		$(BIN)/python bench/scale/cpu_split.py --database $(READS_DB) --requests 100 \
			--json bench/scale/out/$(READS_DB)-reads-cpu-$$i.json || exit 1; \
	done
	$(BIN)/python bench/scale/run.py --database $(READS_DB) $(READS_WRK)
	$(BIN)/python bench/scale/openloop.py --database $(READS_DB) $(READS_OPEN)
	$(BIN)/python bench/scale/report_reads.py --database $(READS_DB)

## lighthouse: Lighthouse (mobile) on the logged-in participant home and session runner (prints figures; not a test)
lighthouse: $(VENV)/.run-deps chromium
	bench/lighthouse.sh

## lint: ruff (style and security rules), pip-audit of the pinned requirements, and ESLint on
## ipt_groups/static (eslint.config.js) when Node is installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
	touch $@

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python tools/audit_requirements.py
	@if command -v node >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory node_modules/.installed && npx --no-install eslint ipt_groups/static; \
	else \
		echo "== Node not found: ESLint skipped"; \
	fi

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
