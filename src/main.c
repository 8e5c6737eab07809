/* placeholder entry point, replaced by the CLI */
#include <stdio.h>
int main(void)
{
    fputs("tlsdiag: under construction\n", stderr);
    return 2;
}
