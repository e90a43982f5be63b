# podbay developer targets. `make test` works on a fresh Debian 12 host as root.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# A recipe that fails must not leave a half-written file target behind (the test image).
.DELETE_ON_ERROR:

VENV ?= .venv
PY := $(VENV)/bin/python
# A private temp root: pytest prunes old numbered dirs under the shared /tmp/pytest-of-<user>, and a
# concurrent run's live agent root (with mounted container filesystems) must never be one of them.
PYTEST = $(VENV)/bin/pytest --basetemp=$(CURDIR)/$(WORK)/pytest
WORK := _work
TEST_IMAGE := $(WORK)/busybox-1.35.tar
# Application test images built from Debian packages (nginx, redis, MariaDB as mysql/mariadb)
APP_IMAGES := $(WORK)/images/nginx.tar $(WORK)/images/redis.tar $(WORK)/images/mariadb.tar

.PHONY: help deps bench-deps venv host-prep doctor test-image test-images lint unit test demo bench bench-life soak crash fuzz clean

help:
	@echo "targets:"
	@echo "  deps        apt packages (root) + $(VENV) with podbay[dev]"
	@echo "  venv        only $(VENV)"
	@echo "  host-prep   prepare cgroups / ip_forward for crun (root)"
	@echo "  doctor      check this host (podbay doctor)"
	@echo "  test-image  build $(TEST_IMAGE) offline from busybox-static"
	@echo "  test-images also nginx, redis and MariaDB from Debian packages ($(WORK)/images/, built once)"
	@echo "  lint        ruff, mypy, import-linter"
	@echo "  unit        unit tests (no root)"
	@echo "  test        everything: deps host-prep test-image lint + the whole suite (root)"
	@echo "  demo        run scripts/demo.sh (root)"
	@echo "  bench       run bench/run.py, volumes.py, api.py, crash.py, fuzz.py, pull.py and workloads.py"
	@echo "  bench-life  pod lifecycle benches: bench/probes.py (100 probed pods) and density.py (500 pods,"
	@echo "              100 at once vs podman kube play); about 15 min, loads every core"
	@echo "  soak        1000 create/delete cycles, leaks and RSS growth (bench/soak.py, about 20 min)"
	@echo "  crash       SIGKILL the agent during applies and deletes (bench/crash.py, 50 rounds)"
	@echo "  fuzz        2000 fuzzed manifests + 2000 raw requests against a live agent (bench/fuzz.py)"
	@echo "  clean       remove $(WORK)/ (keeps $(VENV))"

deps:
	scripts/install-deps.sh

venv:
	scripts/install-deps.sh --venv

# Order-only on deps: they run first (also under -j) but never force a rebuild.
host-prep: | deps
	scripts/setup-host.sh

doctor: | deps
	$(PY) -m podbay.host.doctor

test-image: $(TEST_IMAGE)

$(TEST_IMAGE): src/podbay/images/testimage.py | deps
	mkdir -p $(WORK)
	$(PY) -m podbay.images.testimage $@

# The tests' registries (scripts/test-registry.sh) serve these under their Docker Hub names.
test-images: $(TEST_IMAGE) $(APP_IMAGES)

$(WORK)/images/%.tar: src/podbay/images/debimage.py src/podbay/images/testimage.py | deps
	mkdir -p $(WORK)/images
	$(PY) -m podbay.images.debimage $(WORK)/images $*

lint: | deps
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: | venv
	@mkdir -p $(WORK)
	$(PYTEST) tests/unit -q

test: | deps host-prep test-images lint
	@if [[ $$(id -u) != 0 ]]; then echo "make test: run as root (integration tests mount, create netns and cgroups)" >&2; exit 1; fi
	@mkdir -p $(WORK)
	@$(PY) -m podbay.host.doctor
	@set +e; $(PYTEST) -q -m "not slow" -rfE tests 2>&1 | tee $(WORK)/test.log; rc=$${PIPESTATUS[0]}; \
	  echo; echo "== make test: lint passed; pytest: $$(tail -n 1 $(WORK)/test.log | sed -e 's/^=* *//' -e 's/ *=*$$//') (rc $$rc, log $(WORK)/test.log)"; \
	  exit $$rc

demo: | deps host-prep test-images
	scripts/demo.sh

# Byte-compile first: with PYTHONDONTWRITEBYTECODE set, a stale .pyc would be recompiled at every CLI start.
bench-deps:
	scripts/install-deps.sh --bench

bench: | bench-deps host-prep test-images
	$(PY) -m compileall -q src >/dev/null
	$(PY) bench/run.py
	$(PY) bench/volumes.py
	$(PY) bench/api.py
	$(PY) bench/crash.py
	$(PY) bench/fuzz.py
	$(PY) bench/pull.py
	$(PY) bench/workloads.py

# One at a time: each loads both cores and measures CPU. Each writes bench/<name>-last-run.json and
# exits 1 on a missed goal (the second still runs).
bench-life: | bench-deps host-prep test-image
	$(PY) -m compileall -q src >/dev/null
	rc=0; $(PY) bench/probes.py || rc=$$?; $(PY) bench/density.py || rc=$$?; exit $$rc

soak: | deps host-prep test-image
	$(PY) bench/soak.py

crash: | deps host-prep test-image
	$(PY) bench/crash.py

fuzz: | deps host-prep test-image
	$(PY) bench/fuzz.py

clean:
	rm -rf $(WORK)
