/* cli.h: shared by the subcommands (src/ owns argv, stdio and exit codes). */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Exit codes: a documented, numbered contract (docs/tlsdiag.1, --help). */
enum td_exit {
    TD_EXIT_OK = 0,          /* input read; with --fail: no handshake failed */
    TD_EXIT_FAILURES = 1,    /* --fail given and at least one handshake failed */
    TD_EXIT_USAGE = 2,       /* bad command line */
    TD_EXIT_INPUT = 3,       /* an input could not be opened or is not a capture */
    TD_EXIT_CORRUPT = 4,     /* an input is truncated or corrupt: results up to that point printed */
    TD_EXIT_INTERNAL = 5     /* out of memory or another tool error */
};

/* no_color_env: NO_COLOR set to a non-empty value turns colour off
 * (no-color.org: an empty value is as if unset) */
static inline bool no_color_env(void)
{
    const char *v = getenv("NO_COLOR");
    return v != NULL && v[0] != '\0';
}

int cmd_read(int argc, char **argv, bool live);
int cmd_decode(int argc, char **argv);
int cmd_probe(int argc, char **argv);
void usage_main(FILE *f);

/* The width text output is laid out in (src/width.c): --width N (0: no
 * wrapping, else CLI_WIDTH_MIN..CLI_WIDTH_MAX), or without it the
 * terminal's width when stdout is one (clamped to 60..200), else 100.
 * cli_width_parse returns -1 when |s| is not such a width. */
#define CLI_WIDTH_DEFAULT 100u
#define CLI_WIDTH_MIN 40u
#define CLI_WIDTH_MAX 1000u
#define CLI_WIDTH_TERM_MIN 60u
#define CLI_WIDTH_TERM_MAX 200u
int cli_width_parse(const char *s, unsigned *out);
unsigned cli_width_auto(void);

#endif
