// tcpip's 32-bit MicroPython for Linux (tools/measure/mp32): HAL.

// No pins here; defining the type keeps py/mphal.h from wanting extmod/virtpin.h.
#define mp_hal_pin_obj_t void *

// Ctrl-C is the default SIGINT (the process ends); nothing to set up.
static inline void mp_hal_set_interrupt_char(int c) {
    (void)c;
}
