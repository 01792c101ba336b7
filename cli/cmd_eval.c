/* STUB */
#include "cli.h"
#include <stdio.h>
int ghm_cmd_eval(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: eval: not implemented yet\n"); return 1; }
int ghm_cmd_bench_eval(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: bench eval: not implemented yet\n"); return 1; }
