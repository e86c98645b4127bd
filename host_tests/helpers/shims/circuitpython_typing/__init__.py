"""Placeholder ``circuitpython_typing`` for MicroPython host runs (the real
package uses syntax MicroPython does not parse; only type names are imported)."""
from typing import __getattr__  # noqa: F401
