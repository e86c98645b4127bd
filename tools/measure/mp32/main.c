// tcpip's 32-bit MicroPython for Linux (tools/measure/mp32): command line, heap,
// sys.path, running a script, and the few port functions the py/ core needs.
//
//   micropython [-X heapsize=N[k|m]] [-c CMD | SCRIPT.py] [ARG...]
//
// With neither -c nor a script the program is read from stdin.  sys.path is
// the script's folder (or "" for -c / stdin) followed by the entries of
// MICROPYPATH (colon-separated), like the unix port.  The default heap is
// 1 MB.  There is no REPL, no VFS and no sockets: this binary exists to run
// tools/measure/memreport.py and the host_tests/mp suites as a 32-bit board would.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/cstack.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "shared/runtime/gchelper.h"

static size_t heap_size = 1024 * 1024;

static void stderr_print_strn(void *env, const char *str, size_t len) {
    (void)env;
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, str, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        str += n;
        len -= n;
    }
}

const mp_print_t mp_stderr_print = {NULL, stderr_print_strn};

// ---- HAL: stdio ----

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(STDOUT_FILENO, str, left);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        str += n;
        left -= n;
    }
    return len - left;
}

void mp_hal_stdout_tx_strn_cooked(const char *str, size_t len) {
    mp_hal_stdout_tx_strn(str, len);
}

void mp_hal_stdout_tx_str(const char *str) {
    mp_hal_stdout_tx_strn(str, strlen(str));
}

int mp_hal_stdin_rx_chr(void) {
    unsigned char c;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n == 1) {
            return c;
        }
        if (n == 0) {
            return 4; // EOF reads as Ctrl-D, like the unix port
        }
        if (errno != EINTR) {
            return 4;
        }
    }
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    (void)poll_flags;
    return 0;
}

// ---- port functions the core calls ----

mp_import_stat_t mp_import_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            return MP_IMPORT_STAT_DIR;
        } else if (S_ISREG(st.st_mode)) {
            return MP_IMPORT_STAT_FILE;
        }
    }
    return MP_IMPORT_STAT_NO_EXIST;
}

// No file objects in this port: open() raises OSError(EOPNOTSUPP).
mp_obj_t mp_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    (void)n_args;
    (void)args;
    (void)kwargs;
    mp_raise_OSError(MP_EOPNOTSUPP);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, mp_builtin_open);

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val) {
    fprintf(stderr, "FATAL: uncaught NLR %p\n", val);
    exit(1);
}

// ---- running code ----

#define SRC_FILE (0)
#define SRC_STR (1)
#define SRC_STDIN (2)
#define FORCED_EXIT (0x100)

static int handle_uncaught_exception(mp_obj_base_t *exc) {
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(exc->type), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        // None is 0, an int is itself, anything else is 1
        mp_obj_t exit_val = mp_obj_exception_get_value(MP_OBJ_FROM_PTR(exc));
        mp_int_t val = 0;
        if (exit_val != mp_const_none && !mp_obj_get_int_maybe(exit_val, &val)) {
            val = 1;
        }
        return FORCED_EXIT | (val & 255);
    }
    mp_obj_print_exception(&mp_stderr_print, MP_OBJ_FROM_PTR(exc));
    return 1;
}

static int execute(int kind, const char *source) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex;
        if (kind == SRC_FILE) {
            lex = mp_lexer_new_from_file(qstr_from_str(source));
        } else if (kind == SRC_STR) {
            lex = mp_lexer_new_from_str_len(MP_QSTR__lt_stdin_gt_, source, strlen(source), 0);
        } else {
            lex = mp_lexer_new_from_fd(MP_QSTR__lt_stdin_gt_, STDIN_FILENO, false);
        }
        qstr source_name = lex->source_name;
        if (kind == SRC_FILE) {
            mp_store_global(MP_QSTR___file__, MP_OBJ_NEW_QSTR(source_name));
        }
        mp_parse_tree_t parse_tree = mp_parse(lex, MP_PARSE_FILE_INPUT);
        mp_obj_t module_fun = mp_compile(&parse_tree, source_name, false);
        mp_call_function_0(module_fun);
        mp_handle_pending(MP_HANDLE_PENDING_CALLBACKS_AND_EXCEPTIONS);
        nlr_pop();
        return 0;
    } else {
        return handle_uncaught_exception(nlr.ret_val);
    }
}

static int usage(const char *argv0) {
    fprintf(stderr,
        "usage: %s [-X heapsize=N[k|m]] [-c CMD | SCRIPT] [ARG...]\n"
        "32-bit MicroPython (py/ core only) for tcpip memory measurements.\n"
        "sys.path: the script's folder, then MICROPYPATH (colon-separated).\n",
        argv0);
    return 2;
}

// "-X heapsize=N[k|m]": returns 0 when the option is not valid.
static size_t parse_heapsize(const char *s) {
    char *end;
    long n = strtol(s, &end, 0);
    if ((*end | 0x20) == 'k') {
        n *= 1024;
        end++;
    } else if ((*end | 0x20) == 'm') {
        n *= 1024 * 1024;
        end++;
    }
    if (*end != 0 || n < 4096 || n > 1024L * 1024 * 1024) {
        return 0;
    }
    return (size_t)n;
}

static void add_path(const char *p, size_t len) {
    mp_obj_list_append(mp_sys_path, mp_obj_new_str_via_qstr(p, len));
}

static void set_sys_argv(int argc, char **argv, int start) {
    for (int i = start; i < argc; i++) {
        mp_obj_list_append(mp_sys_argv, MP_OBJ_NEW_QSTR(qstr_from_str(argv[i])));
    }
}

MP_NOINLINE static int main_(int argc, char **argv) {
    // options that must be known before the heap exists
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "-X") == 0 && a + 1 < argc) {
            if (strncmp(argv[a + 1], "heapsize=", 9) == 0) {
                heap_size = parse_heapsize(argv[a + 1] + 9);
                if (heap_size == 0) {
                    return usage(argv[0]);
                }
            } else {
                return usage(argv[0]);
            }
            a++;
        } else if (strcmp(argv[a], "-c") == 0 && a + 1 < argc) {
            break;
        } else {
            return usage(argv[0]);
        }
    }

    // The GC heap is mapped executable: viper/native code is allocated on it,
    // as on a board, instead of in separate mmap'd regions.
    void *heap = mmap(NULL, heap_size, PROT_READ | PROT_WRITE | PROT_EXEC,
        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (heap == MAP_FAILED) {
        perror("mmap heap");
        return 1;
    }
    gc_init(heap, (char *)heap + heap_size);
    mp_init();

    mp_sys_path = mp_obj_new_list(0, NULL);
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_argv), 0);

    int kind;
    const char *source = NULL;
    if (a < argc && strcmp(argv[a], "-c") == 0) {
        kind = SRC_STR;
        source = argv[a + 1];
        add_path("", 0);
        mp_obj_list_append(mp_sys_argv, MP_OBJ_NEW_QSTR(qstr_from_str("-c")));
        set_sys_argv(argc, argv, a + 2);
    } else if (a < argc) {
        kind = SRC_FILE;
        source = argv[a];
        if (access(source, R_OK) != 0) {
            fprintf(stderr, "%s: can't open file '%s': [Errno %d] %s\n", argv[0], source, errno, strerror(errno));
            return 2;
        }
        const char *slash = strrchr(source, '/');
        if (slash == NULL) {
            add_path("", 0);
        } else {
            add_path(source, slash - source);
        }
        set_sys_argv(argc, argv, a);
    } else {
        kind = SRC_STDIN;
        add_path("", 0);
    }

    const char *path = getenv("MICROPYPATH");
    while (path != NULL && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0) {
            add_path(path, len);
        }
        path = end ? end + 1 : NULL;
    }

    int ret = execute(kind, source);

    #if MICROPY_PY_SYS_ATEXIT
    if (mp_obj_is_callable(MP_STATE_VM(sys_exitfunc))) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            mp_call_function_0(MP_STATE_VM(sys_exitfunc));
            nlr_pop();
        } else {
            ret = handle_uncaught_exception(nlr.ret_val);
        }
    }
    #endif

    fflush(stdout);
    mp_deinit();
    return ret & 0xff;
}

int main(int argc, char **argv) {
    // Capture the stack top before main_'s locals; allow 256 KB of C stack
    // for the interpreter (Linux gives 8 MB).
    mp_cstack_init_with_sp_here(256 * 1024);
    return main_(argc, argv);
}
