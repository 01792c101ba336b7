/* STUB */
#include "cli.h"
#include <stdio.h>
int ghm_cmd_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: run: not implemented yet\n"); return 1; }
int ghm_cmd_report(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: report: not implemented yet\n"); return 1; }
