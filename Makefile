# nsforge.linux: lab and test entry points.  `make help` lists the targets.
#
# Layout of what this Makefile creates (all ignored by git):
#   .venv/                                   Python environment (tests/requirements.txt)
#   build/ansible_collections/nsforge/linux  copy of the files git sees (tracked + untracked,
#                                            not ignored); ansible-test and pytest run here
#   build/dist/                              the collection tarball (ansible-galaxy collection build)
#   build/collections/                       ANSIBLE_COLLECTIONS_PATH: the installed tarball
#   build/pybin/                             python3.X links to working interpreters (pyenv
#                                            shims on PATH fail unless their version is selected)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.DELETE_ON_ERROR:

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
VBIN := $(VENV)/bin
BUILD := $(ROOT)/build
COPY := $(BUILD)/ansible_collections/nsforge/linux
DIST := $(BUILD)/dist
COLLECTIONS := $(BUILD)/collections
PYBIN := $(BUILD)/pybin

# Interpreter for .venv: an explicit python3.12 first (ansible-core 2.21, the newest, needs >= 3.12 on the controller).
PYTHON ?= $(shell for v in 3.12 3.13; do $(ROOT)/.ci/find_python.sh $$v && break; done)
# Every sanity test on SANITY_PYTHON; then the MULTI_PYTHON_TESTS (the tests that
# depend on the Python version) on each of OTHER_PYTHONS that exists here
# (modules: tests/config.yml says python_requires >= 3.9).
SANITY_PYTHON ?= 3.12
OTHER_PYTHONS ?= 3.9 3.10 3.11 3.13
MULTI_PYTHON_TESTS ?= compile import
# Integration targets to run (default: all under tests/integration/targets/).
TARGET ?=
# Molecule scenarios to run (default: every extensions/molecule/*/molecule.yml).
MOLECULE_SCENARIO ?=
LAB_PLAYBOOK ?= playbooks/lab.yml
LAB_DESTROY_PLAYBOOK ?= playbooks/destroy.yml

# Commands needed, as COMMAND:DEBIAN_PACKAGE (installed only when missing).
# shellcheck: ansible-test's shellcheck sanity test is skipped without it;
# ping: the molecule scenario's verify step.
# tini: PID 1 of services; nft: the netlab role's NAT; dot: its topology pictures; sysctl: host forwarding
# with NAT; nsenter, findmnt: the default lab's proofs; sshd, ssh, ssh-keygen: the simulated fleet of tests/fleet
# (and the nsenter connection's test); bird: the routers of the example OSPF lab (netlab_ospf); debootstrap and
# systemd-nspawn: the fleet's systemd hosts (tests/fleet/rootfs, the reboot targets).
LAB_TOOLS := ip:iproute2 git:git tar:tar ping:iputils-ping tini:tini nft:nftables dot:graphviz sysctl:procps \
  nsenter:util-linux findmnt:util-linux
TEST_TOOLS := $(LAB_TOOLS) unshare:util-linux shellcheck:shellcheck ping:iputils-ping tini:tini ps:procps ipcmk:util-linux getsubids:uidmap sshd:openssh-server \
  ssh:openssh-client ssh-keygen:openssh-client systemd-analyze:systemd systemd-escape:systemd bird:bird2 \
  debootstrap:debootstrap systemd-nspawn:systemd-container
# The virtual machine of tests/vm (a kernel with netem, which this machine's lacks): qemu (TCG) and a static busybox.
VM_TOOLS := qemu-system-x86_64:qemu-system-x86 busybox:busybox-static

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
# Plain output keeps CI logs readable; `ANSIBLE_NOCOLOR=0 make lab` for colours.
export ANSIBLE_NOCOLOR ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1
# ansible-test and the tests find python3.X here before the failing pyenv shims.
export PATH := $(PYBIN):$(VBIN):$(PATH)

.PHONY: test-home help lab lab-destroy venv tools lab-tools fleet-rootfs vm-tools vm vm-selftest vm-integration vm-netem pythons copy collection test sanity units integration molecule lint docs docs-lint galaxy matrix test-matrix bench bench-quick bench-fleet clean distclean

help: ## Show this help
	@echo "nsforge.linux make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16 | sed 's/^/  /'
	@echo
	@echo "Variables: PYTHON=$(PYTHON)"
	@echo "  TARGET=<integration target>  SANITY_PYTHON=$(SANITY_PYTHON)  OTHER_PYTHONS='$(OTHER_PYTHONS)'"
	@echo "  LAB_PLAYBOOK=$(LAB_PLAYBOOK)  MOLECULE_SCENARIO=$(MOLECULE_SCENARIO) (empty: all)"
	@echo "  MATRIX_CORES='$(MATRIX_CORES)'"

## ---------------------------------------------------------------- environment

venv: $(VENV)/.installed ## Create .venv and install tests/requirements.txt

$(VENV)/.installed: tests/requirements.txt
	@if [ -z "$(PYTHON)" ]; then echo "no Python >= 3.12 found (set PYTHON=/path/to/python3.12)" >&2; exit 1; fi
	@echo "--- creating $(VENV) with $(PYTHON)"
	@# a .venv of another Python (an older checkout's 3.11) is made again
	@if [ -x "$(VBIN)/python" ] && [ "$$("$(VBIN)/python" -c 'import sys; print(sys.version_info[:2])')" != "$$("$(PYTHON)" -c 'import sys; print(sys.version_info[:2])')" ]; then \
	  rm -rf "$(VENV)"; fi
	@if [ ! -x "$(VBIN)/python" ]; then "$(PYTHON)" -m venv "$(VENV)"; fi
	"$(VBIN)/python" -m pip install --quiet --upgrade pip
	"$(VBIN)/python" -m pip install --quiet -r tests/requirements.txt
	@touch "$@"

tools: ## Install missing Debian packages for the tests (apt-get, only when a command is missing)
	@"$(ROOT)/.ci/ensure_tools.sh" $(TEST_TOOLS)

lab-tools:
	@"$(ROOT)/.ci/ensure_tools.sh" $(LAB_TOOLS)

vm-tools: ## Install qemu-system-x86 and busybox-static for tests/vm (apt-get, only when missing)
	@"$(ROOT)/.ci/ensure_tools.sh" $(VM_TOOLS)

pythons: ## Link working python3.X interpreters into build/pybin
	@mkdir -p "$(PYBIN)"
	@for v in $(SANITY_PYTHON) $(OTHER_PYTHONS); do \
	  if p=$$("$(ROOT)/.ci/find_python.sh" $$v); then ln -sfn "$$p" "$(PYBIN)/python$$v"; else rm -f "$(PYBIN)/python$$v"; fi; \
	done

## ---------------------------------------------------------------- collection

copy: ## Copy the files git sees to build/ansible_collections/nsforge/linux
	@"$(ROOT)/.ci/copy_tree.sh" "$(COPY)"
	@echo "--- collection copy: $(COPY) ($$(find "$(COPY)" -type f | wc -l) files)"

collection: venv copy ## Build the collection tarball and install it into build/collections
	@rm -rf "$(DIST)" "$(COLLECTIONS)/ansible_collections/nsforge/linux"
	"$(VBIN)/ansible-galaxy" collection build "$(COPY)" --output-path "$(DIST)" --force
	"$(VBIN)/ansible-galaxy" collection install "$(DIST)"/nsforge-linux-*.tar.gz \
	  -p "$(COLLECTIONS)" --force --no-deps --offline

## ---------------------------------------------------------------- lab

lab: venv lab-tools collection ## Build the default lab on this host (playbooks/lab.yml)
	@printf '%s\n' '[lab]' 'localhost ansible_connection=local ansible_python_interpreter=$(VBIN)/python' \
	  > "$(BUILD)/lab_inventory.ini"
	"$(VBIN)/ansible-playbook" -i "$(BUILD)/lab_inventory.ini" "$(LAB_PLAYBOOK)"

lab-destroy: venv collection ## Tear the lab down (playbooks/destroy.yml)
	@printf '%s\n' '[lab]' 'localhost ansible_connection=local ansible_python_interpreter=$(VBIN)/python' \
	  > "$(BUILD)/lab_inventory.ini"
	"$(VBIN)/ansible-playbook" -i "$(BUILD)/lab_inventory.ini" "$(LAB_DESTROY_PLAYBOOK)"

## ---------------------------------------------------------------- tests

TEST_STAGES := sanity units lint docs-lint galaxy integration vm-netem molecule bench-quick matrix

# The ansible-core versions the collection claims (meta/runtime.yml: requires_ansible >=2.17.0): each one's
# sanity, build and install, and integration targets netns and matrix_smoke (.ci/matrix.sh).  The version in .venv
# (tests/requirements.txt, the newest) runs everything in the stages before, so the matrix runs only its smoke.
MATRIX_CORES ?= 2.17 2.18 2.19 2.20 2.21
VENV_CORE = $(shell "$(VBIN)/python" -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))')

# ansible-test keeps its virtual environments in ~/.ansible/test/venv and rebuilds one that has no marker file, so
# two checkouts running sanity at once (or a run killed while it built one) would pull them from under each other:
# sanity runs with a home folder of this checkout's own.  Short and under /tmp: the virtual environments' scripts
# carry its path in their #! lines, which the kernel cuts at 127 characters.  pip still reads the user's
# configuration (~/.config/pip), through XDG_CONFIG_HOME.
TEST_HOME ?= /tmp/nsforge-home-$(shell printf '%s' "$(ROOT)" | sha256sum | cut -c1-12)
USER_CONFIG := $(or $(XDG_CONFIG_HOME),$(HOME)/.config)
sanity matrix: export HOME := $(TEST_HOME)
sanity matrix: export XDG_CONFIG_HOME := $(USER_CONFIG)

test-home:
	@install -d -m 0700 "$(TEST_HOME)"

test: venv tools ## The whole suite: every stage of TEST_STAGES in turn (stops at the first failure)
	@times=(); for stage in $(TEST_STAGES); do \
	  echo "=== make test: $$stage"; start=$$SECONDS; \
	  if ! $(MAKE) --no-print-directory $$stage; then \
	    echo "=== make test: $$stage FAILED after $$((SECONDS - start))s" >&2; exit 1; fi; \
	  times+=("$$stage $$((SECONDS - start))s"); \
	done; echo "=== make test: all stages passed ($${times[*]})"

# ansible-test bootstraps pip in every virtual environment it creates with a
# get-pip.py it downloads from a host that is not reachable from here; it uses a
# cached copy when one exists: .ci/offline_get_pip.sh puts the offline stand-in there.

sanity: venv tools pythons copy test-home ## ansible-test sanity (all on SANITY_PYTHON; compile+import on OTHER_PYTHONS)
	@path=$$("$(ROOT)/.ci/offline_get_pip.sh" "$(VBIN)/python" "$(SANITY_PYTHON)") && \
	  echo "--- pip bootstrap for ansible-test: $$path"
	@if cat "$(COPY)"/tests/sanity/ignore-*.txt 2>/dev/null | grep -vqE '^[[:space:]]*(#|$$)'; then \
	  echo "entries in tests/sanity/ignore-*.txt are not allowed: fix the code instead" >&2; exit 1; fi
	cd "$(COPY)" && "$(VBIN)/ansible-test" sanity --color no --python $(SANITY_PYTHON)
	@cd "$(COPY)" && for v in $(OTHER_PYTHONS); do \
	  if [ -e "$(PYBIN)/python$$v" ]; then \
	    echo "--- ansible-test sanity $(MULTI_PYTHON_TESTS:%=--test %) --python $$v"; \
	    "$(VBIN)/ansible-test" sanity --color no $(MULTI_PYTHON_TESTS:%=--test %) --python $$v; \
	  else echo "--- python$$v not found: $(MULTI_PYTHON_TESTS) skipped"; fi; \
	done

units: venv copy ## pytest tests/unit (on the collection copy; no tests is a failure)
	@cd "$(COPY)" && rc=0 && PYTHONPATH="$(BUILD)" "$(VBIN)/python" -m pytest -p no:cacheprovider tests/unit || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests under tests/unit" >&2; fi; exit $$rc

integration: venv tools collection fleet-rootfs ## Integration targets, each in a fresh sandbox (TARGET=name for one)
	"$(ROOT)/tests/integration/run.sh" $(TARGET)

# The root file system of the fleet's systemd hosts (tests/fleet/rootfs/: debootstrap, about a minute), cached in
# build/fleet-rootfs/<recipe hash>/ and rebuilt when the recipe changes. It needs Debian's archive, so it is built
# before the sandboxes of the targets (which have no network).
fleet-rootfs: venv tools ## Build (once) the root file system of the fleet's systemd hosts in build/fleet-rootfs
	"$(ROOT)/tests/fleet/rootfs/build.sh" "$(BUILD)/fleet-rootfs" "$(VBIN)/pip"

# tests/vm: the Debian kernel (with netem) and the initramfs, cached in build/vm/; then integration targets in
# that virtual machine (the host's root shared read-only; about 20 times slower than on the host, see tests/vm/README.md).
vm: vm-tools ## Build (once) the virtual machine of tests/vm: Debian's kernel with netem and an initramfs in build/vm
	"$(ROOT)/tests/vm/run.sh" --build

vm-selftest: vm ## Netem's delay, loss and rate measured inside the tests/vm virtual machine (tests/vm/selftest.sh)
	"$(ROOT)/tests/vm/run.sh" -- "$(ROOT)/tests/vm/selftest.sh"

vm-integration: venv tools vm collection ## Integration targets (TARGET=name) inside the tests/vm virtual machine
	"$(ROOT)/tests/vm/run.sh" -- "$(ROOT)/tests/integration/run.sh" $(TARGET)

vm-netem: venv tools vm collection ## The netem traffic tests (target netns_netem) inside the tests/vm virtual machine
	"$(ROOT)/tests/vm/run.sh" -- "$(ROOT)/tests/integration/run.sh" netns_netem

# Run from the checkout root: molecule sees galaxy.yml and takes its scenarios
# from extensions/molecule/.  Each scenario runs in a sandbox of its own, with its
# state in a fresh build/molecule/<scenario>; the first failure stops the loop.
MOLECULE_SCENARIOS = $(or $(MOLECULE_SCENARIO),$(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard $(ROOT)/extensions/molecule/*/molecule.yml)))))

molecule: venv tools collection ## Molecule scenarios (all, or MOLECULE_SCENARIO=name), each in a sandbox
	@for s in $(MOLECULE_SCENARIOS); do \
	  echo "--- molecule test -s $$s"; \
	  rm -rf "$(BUILD)/molecule/$$s"; \
	  (cd "$(ROOT)" && $(if $(filter 1 true yes,$(ANSIBLE_NOCOLOR)),NO_COLOR=1) \
	    MOLECULE_EPHEMERAL_DIRECTORY="$(BUILD)/molecule/$$s" \
	    "$(ROOT)/tests/sandbox.sh" "$(VBIN)/molecule" test -s "$$s") || exit 1; \
	done

# ansible-lint with the production profile (.ansible-lint) on the roles,
# playbooks and Molecule scenarios, against the installed collection, offline.
lint: venv collection ## ansible-lint --profile production on roles, playbooks and molecule scenarios
	cd "$(ROOT)" && "$(VBIN)/ansible-lint" --offline --nocolor roles playbooks extensions/molecule

matrix: venv tools pythons collection test-home ## ansible-core matrix: MATRIX_CORES' sanity, build and targets (.ci/matrix.sh)
	MATRIX_PYTHON="$(PYTHON)" MATRIX_DONE="$(VENV_CORE)" MATRIX_HOST_VENV="$(VENV)" \
	  MATRIX_HOST_COLLECTIONS="$(COLLECTIONS)" "$(ROOT)/.ci/matrix.sh" "$(ROOT)" "$(BUILD)" $(MATRIX_CORES)

test-matrix: matrix ## The same as make matrix

# The documentation tools (docs/requirements-docs.txt) live in a virtual environment of their own.
DOCS_VENV := $(BUILD)/docs-venv

docs: venv collection ## The HTML documentation site in build/docs/html (antsibull-docs and Sphinx; .ci/build_docs.sh)
	"$(ROOT)/.ci/build_docs.sh" "$(DOCS_VENV)" "$(COLLECTIONS)" "$(BUILD)/docs"

docs-lint: docs ## The site builds; antsibull-docs lint-collection-docs and ansible-lint on every EXAMPLES find nothing
	cd "$(COLLECTIONS)/ansible_collections/nsforge/linux" && PATH="$(DOCS_VENV)/bin:$$PATH" \
	  ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" "$(DOCS_VENV)/bin/antsibull-docs" lint-collection-docs \
	  --plugin-docs --no-skip-rstcheck --check-extra-docs-refs .
	@echo "--- antsibull-docs lint-collection-docs --plugin-docs: no finding"
	cd "$(ROOT)" && "$(VBIN)/python" .ci/lint_examples.py "$(COLLECTIONS)"

galaxy: venv tools collection ## Galaxy's path: the tarball, installed in a fresh venv, deploys and destroys a lab
	@rm -rf "$(BUILD)/galaxy"
	"$(ROOT)/tests/galaxy/run.sh" "$$(ls "$(DIST)"/nsforge-linux-*.tar.gz)" "$(BUILD)/galaxy"

## ---------------------------------------------------------------- benchmarks

# Each measurement runs in its own sandbox (tests/sandbox.sh).  W1 (d) needs
# community.general: bench/run.py unpacks it from PyPI's `ansible` package (14.5.0)
# into build/bench/collections-<version> once.
BENCH_ENV = BENCH_COLLECTIONS="$(COLLECTIONS)" BENCH_PYTHON="$(VBIN)/python" BENCH_CACHE="$(BUILD)/bench"
BENCH_ARGS ?=

bench: venv tools collection ## Benchmark suite, results table in docs/benchmarks.md (about 20 minutes)
	@mkdir -p "$(BUILD)/bench"
	$(BENCH_ENV) "$(VBIN)/python" bench/run.py --output docs/benchmarks.md --json "$(BUILD)/bench/results.json" $(BENCH_ARGS)

bench-quick: venv tools collection ## The benchmark harness at N=10, one run: every workload must converge
	@mkdir -p "$(BUILD)/bench"
	$(BENCH_ENV) "$(VBIN)/python" bench/run.py --quick --output "$(BUILD)/bench/quick.md" $(BENCH_ARGS)

bench-fleet: venv tools collection ## Per-host cost of site.yml over SSH on a simulated fleet (bench/fleet.py, ~10 min)
	$(BENCH_ENV) "$(VBIN)/python" bench/fleet.py $(BENCH_ARGS)

## ---------------------------------------------------------------- housekeeping

clean: ## Remove build/ and tests/output/
	rm -rf "$(BUILD)" "$(ROOT)/tests/output"

distclean: clean ## Also remove .venv
	rm -rf "$(VENV)"
