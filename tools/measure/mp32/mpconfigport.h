// tcpip's 32-bit MicroPython for Linux (tools/measure/mp32): configuration.
//
// The aim is to measure memory as an RP2040 board sees it: a 32-bit object
// model (MICROPY_OBJ_REPR_A: 31-bit small ints, 4-byte words, 16-byte GC
// blocks), the rp2 port's feature level (EXTRA_FEATURES) and its float type
// (single precision), native code on the GC heap as on a board, and viper /
// native emitted for x86.  Only the py/ core and a few shared/ files are
// compiled (the PyPI sdist has no extmod/), so modules that live in extmod on
// other ports are off here and `time`, `os` and `json` (dumps only) come from
// this directory.

#include <stdint.h>
#include <stddef.h>
#include <alloca.h>
#include <sys/types.h>

#if !defined(__i386__)
#error "tools/measure/mp32 is meant to be compiled with gcc -m32 (i386)"
#endif

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

// Object model and numbers: what a 32-bit board has.
#define MICROPY_OBJ_REPR                    (MICROPY_OBJ_REPR_A)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_FLOAT)

// Memory.
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_ENABLE_FINALISER            (1)
#define MICROPY_STACK_CHECK                 (1)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE (256)
#define MICROPY_MEM_STATS                   (1)
#define MICROPY_MALLOC_USES_ALLOCATED_SIZE  (1)
#define MICROPY_PY_GC_COLLECT_RETVAL        (1)
#define MICROPY_PY_MICROPYTHON_MEM_INFO     (1)

// Native code generators for x86 (32-bit): @micropython.native / .viper.
// Machine code is allocated on the GC heap (no MP_PLAT_ALLOC_EXEC), like on a
// board; main.c maps the heap read/write/execute for that.
#define MICROPY_EMIT_X86                    (1)

// Compiler, import from files (POSIX reader), .mpy files.
#define MICROPY_ENABLE_COMPILER             (1)
#define MICROPY_READER_POSIX                (1)
#define MICROPY_HELPER_LEXER_UNIX           (1)
#define MICROPY_PERSISTENT_CODE_LOAD        (1)
#define MICROPY_ALLOC_PATH_MAX              (4096)
#define MICROPY_DEBUG_PRINTERS              (1)
#define MICROPY_ERROR_REPORTING             (MICROPY_ERROR_REPORTING_DETAILED)
#define MICROPY_WARNINGS                    (1)
#define MICROPY_OPT_COMPUTED_GOTO           (1)

// sys: argv and path are filled in by main.c.
#define MICROPY_PY_SYS_PATH_ARGV_DEFAULTS   (0)
#define MICROPY_PY_SYS_PLATFORM             "linux"
#define MICROPY_PY_SYS_EXC_INFO             (1)
#define MICROPY_PY_SYS_ATEXIT               (1)
#define MICROPY_PY_SYS_STDFILES             (1)
#define MICROPY_PY_SYS_STDIO_BUFFER         (0)

// Printing with PRINT_JSON, used by json.dumps in modjson.c (the core's
// printers do the formatting; there is no json.loads here).
#define MICROPY_PY_JSON                     (1)

// Modules from extmod/ on other ports: not in the sdist, so off.  `time`
// and `os` are provided by modtime.c and modos.c in this directory instead.
#define MICROPY_PY_TIME                     (0)
#define MICROPY_PY_OS                       (0)
#define MICROPY_PY_SELECT                   (0)
#define MICROPY_PY_ASYNCIO                  (0)
#define MICROPY_PY_UCTYPES                  (0)
#define MICROPY_PY_DEFLATE                  (0)
#define MICROPY_PY_RE                       (0)
#define MICROPY_PY_HEAPQ                    (0)
#define MICROPY_PY_HASHLIB                  (0)
#define MICROPY_PY_BINASCII                 (0)
#define MICROPY_PY_RANDOM                   (0)
#define MICROPY_PY_FRAMEBUF                 (0)
#define MICROPY_PY_PLATFORM                 (0)
#define MICROPY_PY_MACHINE                  (0)
#define MICROPY_PY_NETWORK                  (0)
#define MICROPY_PY_SOCKET                   (0)
#define MICROPY_PY_WEBSOCKET                (0)
#define MICROPY_PY_BLUETOOTH                (0)
#define MICROPY_PY_OS_DUPTERM               (0)
#define MICROPY_VFS                         (0)
#define MICROPY_PY_BUILTINS_INPUT           (0)
#define MICROPY_PY_BUILTINS_HELP            (0)
#define MICROPY_PY_THREAD                   (0)

// Ctrl-C simply ends the process (no REPL here).
#define MICROPY_KBD_EXCEPTION               (0)
#define MICROPY_HELPER_REPL                 (0)

// Errors and debug output go to stderr.
extern const struct _mp_print_t mp_stderr_print;
#define MICROPY_DEBUG_PRINTER               (&mp_stderr_print)
#define MICROPY_ERROR_PRINTER               (&mp_stderr_print)

#define MICROPY_HW_BOARD_NAME               "linux-i386 (tcpip tools/measure/mp32)"
#define MICROPY_HW_MCU_NAME                 "i386"

#define MP_STATE_PORT MP_STATE_VM

typedef long mp_off_t;
