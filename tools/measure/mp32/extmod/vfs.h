// tools/measure/mp32: empty stand-in for MicroPython's extmod/vfs.h, which py/ includes
// but the PyPI sdist does not ship.  Nothing from it is used with this port's
// configuration (no VFS, no platform module).
