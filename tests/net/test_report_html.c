/* test_report_html.c — driver for tests/net/report-html.sh: renders a state
 * file with report_run() the way `mailvet report` will.
 * Usage: test_report_html STATE FORMAT [OUTPUT]; exits with report_run's code. */
#include <stdio.h>

#include "report.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s STATE text|json|html [OUTPUT]\n", argv[0]);
        return 2;
    }
    return report_run(argv[1], argv[2], argc == 4 ? argv[3] : NULL);
}
