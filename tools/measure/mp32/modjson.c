// tcpip's 32-bit MicroPython for Linux (tools/measure/mp32): `json.dumps` only.
//
// The py/ core already prints dicts, lists, tuples, strings, numbers, True,
// False and None as JSON when asked for PRINT_JSON (MICROPY_PY_JSON); this
// module only exposes that, so that tools/measure/memreport.py --json works.

#include "py/runtime.h"

static mp_obj_t json_dumps(mp_obj_t obj) {
    vstr_t vstr;
    // dicts read their separators from an extended printer
    mp_print_ext_t print;
    vstr_init_print(&vstr, 64, &print.base);
    print.item_separator = ", ";
    print.key_separator = ": ";
    mp_obj_print_helper(&print.base, obj, PRINT_JSON);
    return mp_obj_new_str_from_utf8_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_1(json_dumps_obj, json_dumps);

static const mp_rom_map_elem_t json_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_json) },
    { MP_ROM_QSTR(MP_QSTR_dumps), MP_ROM_PTR(&json_dumps_obj) },
};
static MP_DEFINE_CONST_DICT(json_module_globals, json_module_globals_table);

const mp_obj_module_t mp32_module_json = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&json_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_json, mp32_module_json);
