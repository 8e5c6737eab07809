/* Internal: layout of the generated tables (build/gen/registry_tables.c). */
#ifndef TD_REGISTRY_TABLES_H
#define TD_REGISTRY_TABLES_H
#include <stddef.h>
#include <stdint.h>

struct td_reg_entry {
    uint16_t value;
    const char *name;
};

#define TD_REG_DECL(x)                              \
    extern const struct td_reg_entry td_reg_tab_##x[]; \
    extern const size_t td_reg_len_##x;
TD_REG_DECL(cipher)
TD_REG_DECL(extension)
TD_REG_DECL(group)
TD_REG_DECL(sigscheme)
TD_REG_DECL(alert)
TD_REG_DECL(version)
TD_REG_DECL(ecpf)
#undef TD_REG_DECL
#endif
