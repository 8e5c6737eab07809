/* cmd_decode.c: placeholder until the decoder lands (issue "Decode"). */
#include <stdio.h>

#include "cli.h"

int cmd_decode(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("tlsdiag decode: not implemented yet\n", stderr);
    return TD_EXIT_USAGE;
}
