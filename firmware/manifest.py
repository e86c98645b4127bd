# Freeze tcpip into a custom MicroPython build (saves RAM: frozen bytecode runs from flash).
#
#   cd micropython/ports/rp2
#   make BOARD=W5500_EVB_PICO FROZEN_MANIFEST=/path/to/repo/firmware/manifest.py
#
# Paths here are relative to this file.  main.py, tcpip_board.py and
# tcpip_config.json stay on the filesystem (make flash BOARD=... FROZEN=1 copies
# only those), so settings can change without a rebuild.
include("$(PORT_DIR)/boards/manifest.py")
package("tcpip", base_path="../lib")
module("netboot.py")
