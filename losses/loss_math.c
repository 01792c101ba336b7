/* Private numeric helpers shared by every loss; see loss_math.h. */
#include "loss_math.h"

#include <math.h>
#include <stdlib.h>

double ghm_lm_logsumexp(const double *z, const unsigned char *mask, int n)
{
    double m = -INFINITY;
    for (int k = 0; k < n; k++)
        if ((!mask || mask[k]) && z[k] > m) m = z[k];
    if (m == -INFINITY) return -INFINITY; /* empty, or every term exp(-inf) = 0 */
    double s = 0.0;
    for (int k = 0; k < n; k++)
        if (!mask || mask[k]) s += exp(z[k] - m);
    return m + log(s);
}

double ghm_lm_log1p_sumexp(const double *z, const unsigned char *mask, int n)
{
    double m = 0.0; /* the "1" is exp(0) */
    for (int k = 0; k < n; k++)
        if ((!mask || mask[k]) && z[k] > m) m = z[k];
    double s = exp(-m);
    for (int k = 0; k < n; k++)
        if (!mask || mask[k]) s += exp(z[k] - m);
    return m + log(s);
}

double *ghm_lm_dalloc(size_t count) { return calloc(count ? count : 1, sizeof(double)); }
