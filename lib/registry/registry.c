#include "tlsdiag/registry.h"

#include <stdio.h>

#include "registry_tables.h"

static const struct {
    const struct td_reg_entry *tab;
    const size_t *len;
} tables[TD_REG_COUNT] = {
    [TD_REG_CIPHER] = {td_reg_tab_cipher, &td_reg_len_cipher},
    [TD_REG_EXTENSION] = {td_reg_tab_extension, &td_reg_len_extension},
    [TD_REG_GROUP] = {td_reg_tab_group, &td_reg_len_group},
    [TD_REG_SIGSCHEME] = {td_reg_tab_sigscheme, &td_reg_len_sigscheme},
    [TD_REG_ALERT] = {td_reg_tab_alert, &td_reg_len_alert},
    [TD_REG_VERSION] = {td_reg_tab_version, &td_reg_len_version},
    [TD_REG_ECPF] = {td_reg_tab_ecpf, &td_reg_len_ecpf},
};

const char *td_reg_name(enum td_reg reg, uint16_t value)
{
    size_t lo = 0, hi;

    if ((unsigned)reg >= TD_REG_COUNT)
        return NULL;
    hi = *tables[reg].len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint16_t v = tables[reg].tab[mid].value;
        if (v == value)
            return tables[reg].tab[mid].name;
        if (v < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *td_reg_at(enum td_reg reg, size_t i, uint16_t *value)
{
    if ((unsigned)reg >= TD_REG_COUNT || i >= *tables[reg].len)
        return NULL;
    *value = tables[reg].tab[i].value;
    return tables[reg].tab[i].name;
}

const char *td_reg_fmt(enum td_reg reg, uint16_t value, char *buf, size_t len)
{
    const char *name;

    if (len == 0)
        return buf;
    /* GREASE first: the extensions registry lists GREASE code points under
     * names like grease_0x0A0A, but they mean "ignore me" in every registry. */
    if (td_is_grease(value)) {
        snprintf(buf, len, "GREASE(0x%04x)", value);
        return buf;
    }
    name = td_reg_name(reg, value);
    if (name != NULL)
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "0x%04x", value);
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
