/* STUB */
#include "cli.h"
#include <stdio.h>
int ghm_cmd_bench_train(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: bench train: not implemented yet\n"); return 1; }
int ghm_cmd_bench_embed(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "ghm: bench embed: not implemented yet\n"); return 1; }
