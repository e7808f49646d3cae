/* doctor.c — `mailvet doctor` (see doctor.h). */
#include "doctor.h"

#include <stdio.h>

int doctor_run(const cli_opts *o)
{
    (void)o;
    fprintf(stderr, "mailvet doctor: not implemented yet\n");
    return EXIT_RUNTIME;
}
