# koji-adjutant: the two commands a new machine needs are `make demo` and `make test`.
# Both start with scripts/setup-host.sh, which installs everything (idempotent).

PYTHON := .venv/bin/python
PYTEST := .venv/bin/pytest

.PHONY: setup image demo test test-fast test-devhub test-e2e bench sanity lint clean

setup:
	bash scripts/setup-host.sh

image: setup
	$(PYTHON) -m koji_adjutant.images build

## Build a sample SRPM through the embedded dev hub and a worker; print the result.
demo: image
	$(PYTHON) -m koji_adjutant.demo

## Everything CI runs.
test: image
	$(PYTEST) -ra tests

test-devhub: setup
	$(PYTEST) -ra tests/devhub

test-e2e: image
	$(PYTEST) -ra tests/e2e

bench: image
	$(PYTHON) bench/buildarch_overhead.py
	$(PYTHON) bench/buildroot_and_repos.py

sanity:
	bash scripts/setup-host.sh --with-lint
	bash scripts/ansible-test.sh sanity --python 3.11

## ansible-lint, production profile (config: .ansible-lint)
lint:
	bash scripts/setup-host.sh --with-lint
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections .venv/bin/ansible-lint

clean:
	rm -rf build/demo tests/output .pytest_cache
