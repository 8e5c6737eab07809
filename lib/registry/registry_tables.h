/* Internal: layout of the generated tables (build/gen/registry_tables.c). */
#ifndef TD_REGISTRY_TABLES_H
#define TD_REGISTRY_TABLES_H
#include <stddef.h>
#include <stdint.h>

struct td_reg_entry {
    uint16_t value;
    uint8_t len; /* strlen(name) */
    const char *name;
};

/* td_reg_hi_X[v >> 8]: the page of value v (1-based; 0: no name with that
 * high byte); td_reg_pages_X[page - 1][v & 0xff]: its entry in td_reg_tab_X
 * (1-based; 0: no name). */
#define TD_REG_DECL(x)                                  \
    extern const struct td_reg_entry td_reg_tab_##x[];  \
    extern const size_t td_reg_len_##x;                 \
    extern const uint8_t td_reg_hi_##x[256];            \
    extern const uint16_t td_reg_pages_##x[][256];
TD_REG_DECL(cipher)
TD_REG_DECL(extension)
TD_REG_DECL(group)
TD_REG_DECL(sigscheme)
TD_REG_DECL(alert)
TD_REG_DECL(version)
TD_REG_DECL(ecpf)
#undef TD_REG_DECL
#endif
