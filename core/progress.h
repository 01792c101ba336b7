/* Progress display for long work (training, embedding, sweeps).
 *
 * Library code never prints on its own: these helpers FORMAT strings into a
 * caller's buffer, and the reporter writes only to a FILE* the caller hands
 * it (the CLI passes stdout/stderr). On a terminal the reporter redraws one
 * line with '\r' (bar + numbers); otherwise it writes a plain line every
 * `interval_s` seconds, so logs stay readable.
 *
 *   epoch 3/10 batch 120/500 loss 0.1234 2450 img/s ETA 1m20s
 *   [##########----------]  50% epoch 3/10 batch 120/500 ...
 */
#ifndef GHM_PROGRESS_H
#define GHM_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic wall clock in seconds (arbitrary origin). */
double ghm_clock(void);

/* What a progress line shows; a field is left out when it is "unset". */
typedef struct ghm_progress_info {
    const char *label;    /* optional leading word ("train", "embed"); NULL or "" = none */
    int epoch, epochs;    /* 1-based epoch of epochs; epochs <= 0 = no epoch field */
    long batch, batches;  /* 1-based batch of batches; batches <= 0 = no batch field */
    double loss;          /* NaN = no loss field */
    double images_per_s;  /* <= 0 = no rate field */
    double eta_s;         /* < 0 or NaN = no ETA field */
} ghm_progress_info;

/* All fields unset. */
void ghm_progress_info_init(ghm_progress_info *p);

/* "45s", "1m20s", "2h03m", "3d04h"; "?" for negative / non-finite. Returns
 * the length written (snprintf semantics: truncated to cap). */
int ghm_format_duration(char *buf, size_t cap, double seconds);
/* "epoch 3/10 batch 120/500 loss 0.1234 2450 img/s ETA 1m20s" (set fields only). */
int ghm_progress_format(char *buf, size_t cap, const ghm_progress_info *p);
/* "[#####-----]  50%" with `width` cells inside the brackets (fraction clamped to [0, 1]). */
int ghm_progress_bar(char *buf, size_t cap, double fraction, int width);
/* Remaining time from the fraction done and the elapsed time: elapsed * (1 - f) / f,
 * or -1 when f <= 0. */
double ghm_progress_eta(double fraction, double elapsed_s);

/* A rate-limited reporter writing to a caller-owned FILE*. */
typedef struct ghm_progress {
    FILE *out;          /* destination (not owned); NULL = silent */
    int tty;            /* 1: redraw one line with '\r'; 0: plain lines */
    double interval_s;  /* minimum seconds between writes (tty: 0.1 is typical; logs: 10) */
    double t_start;     /* ghm_clock() at init */
    double t_last;      /* time of the last write (-1: never) */
    int bar_width;      /* cells of the bar on a tty (default 20) */
    int last_len;       /* length of the last tty line (to blank leftovers) */
    int open_line;      /* 1: a tty line is drawn without its newline */
} ghm_progress;

void ghm_progress_init(ghm_progress *p, FILE *out, int tty, double interval_s);
/* Report progress `fraction` (0..1 of the whole job). When info->eta_s is
 * unset it is filled from the fraction and the elapsed time. Writes only when
 * interval_s has passed since the last write, or force != 0. Returns 1 when
 * something was written. */
int ghm_progress_update(ghm_progress *p, double fraction, const ghm_progress_info *info, int force);
/* End the display: on a tty, terminate the open line with '\n'. */
void ghm_progress_finish(ghm_progress *p);

#ifdef __cplusplus
}
#endif
#endif
