/* STUB */
#include "cli.h"
#include <stdio.h>
int ghm_cmd_data(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: data: not implemented yet\n"); return 1; }
