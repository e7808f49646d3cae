/* doctor.h — `mailvet doctor`: checks that this host can verify addresses
 * and be believed (port 25 or the proxy, HELO name, PTR, --from's MX/SPF). */
#ifndef MAILVET_DOCTOR_H
#define MAILVET_DOCTOR_H

#include "cli.h"

int doctor_run(const cli_opts *o);

#endif
