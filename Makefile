# koji-adjutant: the two commands a new machine needs are `make demo` and `make test`.
# Both start with scripts/setup-host.sh, which installs everything (idempotent).

PYTHON := .venv/bin/python
PYTEST := .venv/bin/pytest
# The checkout is installed editable: Python imports the koji_adjutant.builder collection
# through that, Ansible through collections/ (scripts/setup-host.sh links the checkout there
# beside containers.podman and ansible.posix).
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections

.PHONY: setup image demo test test-fast test-devhub test-e2e test-matrix molecule bench sanity lint clean

setup:
	bash scripts/setup-host.sh

image: setup
	$(PYTHON) -m koji_adjutant.images build

## Build a sample SRPM through the embedded dev hub and a worker; print the result.
demo: image
	$(PYTHON) -m koji_adjutant_devhub.demo

## Everything CI runs: the pytest suites, the ansible-core matrix, then every role's molecule
## scenario.
test: image
	$(PYTEST) -ra tests
	$(MAKE) test-matrix
	$(MAKE) molecule

test-devhub: setup
	$(PYTEST) -ra tests/devhub

test-e2e: image
	$(PYTEST) -ra tests/e2e

## The unit tests and the buildArch and build end-to-end tests on each supported ansible-core
## minor release, a venv each in build/matrix/ (scripts/ansible-matrix.sh). Some releases only:
## make test-matrix MATRIX_RELEASES="2.16 2.21"
MATRIX_RELEASES ?=
test-matrix: image
	bash scripts/ansible-matrix.sh $(MATRIX_RELEASES)

## molecule test of every role (podman driver, local images, no registry).
molecule:
	bash scripts/setup-host.sh --with-lint
	bash scripts/molecule-image.sh
	set -e; for role in roles/*/; do \
	    echo "== molecule test $$role"; \
	    (cd $$role && PATH=$(CURDIR)/.venv/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections molecule test); \
	done

bench: image
	$(PYTHON) bench/buildarch_overhead.py
	$(PYTHON) bench/buildroot_and_repos.py
	$(PYTHON) bench/throughput_and_memory.py

sanity:
	bash scripts/setup-host.sh --with-lint
	bash scripts/ansible-test.sh sanity --python 3.11

## ansible-lint, production profile (config: .ansible-lint)
lint:
	bash scripts/setup-host.sh --with-lint
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections .venv/bin/ansible-lint

clean:
	rm -rf build/demo tests/output .pytest_cache
