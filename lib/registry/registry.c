#include "tlsdiag/registry.h"

#include <stdio.h>
#include <string.h>

#include "registry_tables.h"

static const struct {
    const struct td_reg_entry *tab;
    const size_t *len;
    const uint8_t *hi;
    const uint16_t (*pages)[256];
} tables[TD_REG_COUNT] = {
#define T(x) {td_reg_tab_##x, &td_reg_len_##x, td_reg_hi_##x, td_reg_pages_##x}
    [TD_REG_CIPHER] = T(cipher),
    [TD_REG_EXTENSION] = T(extension),
    [TD_REG_GROUP] = T(group),
    [TD_REG_SIGSCHEME] = T(sigscheme),
    [TD_REG_ALERT] = T(alert),
    [TD_REG_VERSION] = T(version),
    [TD_REG_ECPF] = T(ecpf),
#undef T
};

/* by the generated direct index: two loads, no search */
static const struct td_reg_entry *reg_find(enum td_reg reg, uint16_t value)
{
    unsigned page, slot;

    if ((unsigned)reg >= TD_REG_COUNT)
        return NULL;
    page = tables[reg].hi[value >> 8];
    if (page == 0)
        return NULL;
    slot = tables[reg].pages[page - 1][value & 0xff];
    if (slot == 0 || slot > *tables[reg].len)
        return NULL;
    return &tables[reg].tab[slot - 1];
}

const char *td_reg_name(enum td_reg reg, uint16_t value)
{
    const struct td_reg_entry *e = reg_find(reg, value);
    return e != NULL ? e->name : NULL;
}

const char *td_reg_name_n(enum td_reg reg, uint16_t value, size_t *len)
{
    const struct td_reg_entry *e = reg_find(reg, value);
    if (e == NULL)
        return NULL;
    *len = e->len;
    return e->name;
}

void td_reg_names(enum td_reg reg, const uint16_t *v, size_t n, struct td_reg_ref *out)
{
    const uint8_t *hi;
    const uint16_t(*pages)[256];
    const struct td_reg_entry *tab;
    size_t len;

    if ((unsigned)reg >= TD_REG_COUNT) {
        for (size_t i = 0; i < n; i++)
            out[i].name = NULL;
        return;
    }
    hi = tables[reg].hi;
    pages = tables[reg].pages;
    tab = tables[reg].tab;
    len = *tables[reg].len;
    for (size_t i = 0; i < n; i++) {
        unsigned page = hi[v[i] >> 8], slot = page ? pages[page - 1][v[i] & 0xff] : 0;
        if (slot == 0 || slot > len) {
            out[i].name = NULL;
        } else {
            out[i].name = tab[slot - 1].name;
            out[i].len = tab[slot - 1].len;
        }
    }
}

const char *td_reg_at(enum td_reg reg, size_t i, uint16_t *value)
{
    if ((unsigned)reg >= TD_REG_COUNT || i >= *tables[reg].len)
        return NULL;
    *value = tables[reg].tab[i].value;
    return tables[reg].tab[i].name;
}

static const char hexd[] = "0123456789abcdef";

size_t td_reg_fmt_n(enum td_reg reg, uint16_t value, char *buf, size_t len)
{
    const char *name;
    size_t n;
    char t[16];

    if (len == 0)
        return 0;
    /* GREASE first: the extensions registry lists GREASE code points under
     * names like grease_0x0A0A, but they mean "ignore me" in every registry. */
    if (td_is_grease(value)) {
        memcpy(t, "GREASE(0x", 9);
        n = 9;
    } else if ((name = td_reg_name_n(reg, value, &n)) != NULL) {
        if (n > len - 1)
            n = len - 1; /* truncated, as snprintf would */
        memcpy(buf, name, n);
        buf[n] = '\0';
        return n;
    } else {
        t[0] = '0';
        t[1] = 'x';
        n = 2;
    }
    t[n++] = hexd[value >> 12];
    t[n++] = hexd[(value >> 8) & 0xf];
    t[n++] = hexd[(value >> 4) & 0xf];
    t[n++] = hexd[value & 0xf];
    if (t[0] == 'G')
        t[n++] = ')';
    if (n > len - 1)
        n = len - 1;
    memcpy(buf, t, n);
    buf[n] = '\0';
    return n;
}

const char *td_reg_fmt(enum td_reg reg, uint16_t value, char *buf, size_t len)
{
    td_reg_fmt_n(reg, value, buf, len);
    return buf;
}

const char *td_version_str(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "1.3";
    case 0x0303:
        return "1.2";
    case 0x0302:
        return "1.1";
    case 0x0301:
        return "1.0";
    case 0x0300:
        return "3.0";
    case 0x0002:
    case 0x0200:
        return "2.0";
    default:
        return NULL;
    }
}

const char *td_version_draft13(uint16_t v, char *buf, size_t len)
{
    if (len == 0)
        return NULL;
    if ((v & 0xff00) == 0x7f00 && (v & 0xff) != 0)
        snprintf(buf, len, "TLS 1.3 draft %u", (unsigned)(v & 0xff));
    else if (v == 0x7e01 || v == 0x7e02)
        snprintf(buf, len, "TLS 1.3 experiment %u (Google)", (unsigned)(v & 0xff));
    else if ((v & 0xff00) == 0xfb00 && (v & 0xff) >= 0x10 && (v & 0xff) <= 0x1c)
        snprintf(buf, len, "TLS 1.3 draft %u (Facebook Fizz)", (unsigned)(v & 0xff));
    else
        return NULL;
    return buf;
}
