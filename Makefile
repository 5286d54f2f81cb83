# The two commands: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check format install db-up browser haproxy prometheus clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: a server with the demo workspace at http://127.0.0.1:8000 (SQLite under ./.relman)
run: $(STAMP)
	$(BIN)/relman serve --demo --host 127.0.0.1 --port 8000

## make test: the whole suite (PostgreSQL tests run when 127.0.0.1:5432 answers)
test: $(STAMP) db-up browser haproxy prometheus
	$(BIN)/pytest

## make check: formatting, lint and types
check: $(STAMP)
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

# Start the machine's PostgreSQL when it is installed but stopped; say so when it is absent.
db-up:
	@if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "postgresql: 127.0.0.1:5432 is up"; \
	elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
		echo "postgresql: starting the local cluster"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start || true; \
		sleep 2; \
	else \
		echo "!!! postgresql: not installed here; its tests will be skipped (see the summary) !!!"; \
	fi

# Debian packages the integration tests use, installed when missing (CI runs as root):
# $(call debian_package,EXECUTABLE,PACKAGE,WHAT IS SKIPPED WITHOUT IT)
define debian_package
	@if [ -x $(1) ]; then \
		echo "$(2): $$($(1) --version 2>/dev/null | head -n 1)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "$(2): installing Debian's package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	else \
		echo "!!! $(2): not installed and cannot install it here; $(3) will be skipped !!!"; \
	fi
endef

# Chromium for the dashboard's browser tests (Playwright drives /usr/bin/chromium).
browser:
	$(call debian_package,/usr/bin/chromium,chromium,browser tests)

# HAProxy for the traffic driver's integration tests (run on loopback, stopped by PID).
haproxy:
	$(call debian_package,/usr/sbin/haproxy,haproxy,its tests)

# Prometheus for the metric provider's integration tests (loopback, stopped by PID).
prometheus:
	$(call debian_package,/usr/bin/prometheus,prometheus,its tests)

clean:
	rm -rf $(VENV) .relman .pytest_cache .mypy_cache .ruff_cache
