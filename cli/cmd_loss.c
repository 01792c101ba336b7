/* STUB */
#include "cli.h"
#include <stdio.h>
int ghm_cmd_loss(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: loss: not implemented yet\n"); return 1; }
