/* width.c: how wide the text output is laid out (--width, the terminal).
 * The library wraps at the width it is given (struct td_report_opts.width,
 * lib/util/wrap.c); asking the terminal is the command line's business. */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

int cli_width_parse(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *s < '0' || *s > '9' || *end != '\0' || (v != 0 && (v < CLI_WIDTH_MIN || v > CLI_WIDTH_MAX)))
        return -1;
    *out = (unsigned)v;
    return 0;
}

unsigned cli_width_auto(void)
{
    struct winsize ws;

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        if (ws.ws_col < CLI_WIDTH_TERM_MIN)
            return CLI_WIDTH_TERM_MIN;
        if (ws.ws_col > CLI_WIDTH_TERM_MAX)
            return CLI_WIDTH_TERM_MAX;
        return ws.ws_col;
    }
    return CLI_WIDTH_DEFAULT;
}
