/* STUB until datasets land */
#include "dataset.h"
int ghm_dataset_count(void) { return 0; }
const char *ghm_dataset_name_at(int i) { (void)i; return ""; }
const char *ghm_dataset_doc_at(int i) { (void)i; return ""; }
