/* merge.c — `mailvet merge` (see merge.h). */
#include "merge.h"

#include <stdio.h>

int merge_run(const cli_opts *o)
{
    (void)o;
    fprintf(stderr, "mailvet merge: not implemented yet\n");
    return EXIT_RUNTIME;
}
