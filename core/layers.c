/* STUB: to be implemented. */
typedef int ghm_placeholder_layers;
