# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python

.PHONY: run test lint typecheck browser nginx clean

$(VENV)/.stamp-run: requirements.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-run requirements-dev.txt
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

## Start the whole exchange with demo data (embedded PostgreSQL + bundled Redis unless DATABASE_URL/REDIS_URL).
run: $(VENV)/.stamp-run
	$(VPY) -m tradehive.launcher

## Chromium for the browser tests (Debian's package; Playwright drives it by path).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## nginx for the deployment tests (tradehive/tests/test_deploy.py runs nginx/tradehive.conf).
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  echo "installing Debian's nginx for the deployment tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

## Run the whole suite (embedded PostgreSQL + bundled Redis unless DATABASE_URL/REDIS_URL are set).
test: $(VENV)/.stamp-dev browser nginx
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m mypy .
	$(VENV)/bin/lint-imports  # the import contracts in pyproject.toml (docs/architecture.md)
	$(VPY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.stamp-dev
	$(VPY) -m mypy .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache
