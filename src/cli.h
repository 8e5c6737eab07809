/* cli.h: shared by the subcommands (src/ owns argv, stdio and exit codes). */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes: a documented, numbered contract (docs/tlsdiag.1, --help). */
enum td_exit {
    TD_EXIT_OK = 0,          /* input read; with --fail: no handshake failed */
    TD_EXIT_FAILURES = 1,    /* --fail given and at least one handshake failed */
    TD_EXIT_USAGE = 2,       /* bad command line */
    TD_EXIT_INPUT = 3,       /* an input could not be opened or is not a capture */
    TD_EXIT_CORRUPT = 4,     /* an input is truncated or corrupt: results up to that point printed */
    TD_EXIT_INTERNAL = 5     /* out of memory or another tool error */
};

int cmd_read(int argc, char **argv, bool live);
int cmd_decode(int argc, char **argv);
int cmd_probe(int argc, char **argv);
void usage_main(FILE *f);

#endif
