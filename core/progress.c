/* Progress formatting and a rate-limited reporter (see core/progress.h). */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

double ghm_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ghm_progress_info_init(ghm_progress_info *p)
{
    memset(p, 0, sizeof *p);
    p->loss = NAN;
    p->images_per_s = 0;
    p->eta_s = -1;
}

int ghm_format_duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s) || s < 0) return snprintf(buf, cap, "?");
    if (s > 1e9) s = 1e9;
    long t = (long)(s + 0.5);
    if (t < 60) return snprintf(buf, cap, "%lds", t);
    if (t < 3600) return snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    if (t < 86400) return snprintf(buf, cap, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
    return snprintf(buf, cap, "%ldd%02ldh", t / 86400, (t % 86400) / 3600);
}

/* Append to buf at *len (bounded by cap), keeping *len the would-be length. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = *len < cap ? buf + *len : NULL;
    size_t room = *len < cap ? cap - *len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0) *len += (size_t)n;
}

int ghm_progress_format(char *buf, size_t cap, const ghm_progress_info *p)
{
    size_t len = 0;
    if (cap > 0) buf[0] = '\0';
    const char *sep = "";
    if (p->label && p->label[0]) {
        append(buf, cap, &len, "%s", p->label);
        sep = " ";
    }
    if (p->epochs > 0) {
        append(buf, cap, &len, "%sepoch %d/%d", sep, p->epoch, p->epochs);
        sep = " ";
    }
    if (p->batches > 0) {
        append(buf, cap, &len, "%sbatch %ld/%ld", sep, p->batch, p->batches);
        sep = " ";
    }
    if (!isnan(p->loss)) {
        append(buf, cap, &len, "%sloss %.4f", sep, p->loss);
        sep = " ";
    }
    if (p->images_per_s > 0 && isfinite(p->images_per_s)) {
        append(buf, cap, &len, "%s%.0f img/s", sep, p->images_per_s);
        sep = " ";
    }
    if (isfinite(p->eta_s) && p->eta_s >= 0) {
        char d[32];
        ghm_format_duration(d, sizeof d, p->eta_s);
        append(buf, cap, &len, "%sETA %s", sep, d);
    }
    return (int)len;
}

int ghm_progress_bar(char *buf, size_t cap, double fraction, int width)
{
    if (!(fraction >= 0)) fraction = 0; /* also NaN */
    if (fraction > 1) fraction = 1;
    if (width < 1) width = 1;
    if (width > 200) width = 200;
    int filled = (int)(fraction * width + 1e-9);
    char cells[201];
    for (int i = 0; i < width; i++) cells[i] = i < filled ? '#' : '-';
    cells[width] = '\0';
    return snprintf(buf, cap, "[%s] %3d%%", cells, (int)(fraction * 100 + 1e-9));
}

double ghm_progress_eta(double fraction, double elapsed_s)
{
    if (!(fraction > 0) || !isfinite(elapsed_s)) return -1;
    if (fraction >= 1) return 0;
    return elapsed_s * (1 - fraction) / fraction;
}

void ghm_progress_init(ghm_progress *p, FILE *out, int tty, double interval_s)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->interval_s = interval_s >= 0 ? interval_s : 0;
    p->t_start = ghm_clock();
    p->t_last = -1;
    p->bar_width = 20;
}

int ghm_progress_update(ghm_progress *p, double fraction, const ghm_progress_info *info, int force)
{
    if (!p || !p->out) return 0;
    double now = ghm_clock();
    if (!force && p->t_last >= 0 && now - p->t_last < p->interval_s) return 0;
    p->t_last = now;
    ghm_progress_info shown = *info;
    if (!(isfinite(shown.eta_s) && shown.eta_s >= 0)) shown.eta_s = ghm_progress_eta(fraction, now - p->t_start);
    char line[512], bar[256];
    ghm_progress_format(line, sizeof line, &shown);
    if (p->tty) {
        ghm_progress_bar(bar, sizeof bar, fraction, p->bar_width);
        int len = fprintf(p->out, "\r%s %s", bar, line);
        /* blank what is left of a longer previous line */
        if (len > 0) {
            for (int i = len; i < p->last_len; i++) fputc(' ', p->out);
            p->last_len = len;
        }
        p->open_line = 1;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    return 1;
}

void ghm_progress_finish(ghm_progress *p)
{
    if (!p || !p->out) return;
    if (p->tty && p->open_line) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->open_line = 0;
    p->last_len = 0;
}
