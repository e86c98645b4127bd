// tcpip's 32-bit MicroPython for Linux (tools/measure/mp32): extra qstrs.
// Qstrs used in this port's C files are collected automatically.
