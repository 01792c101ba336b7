// Progress formatting (core/progress.h): exact strings for known inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include "core/progress.h"
}

TEST(Progress, Duration) {
    char b[32];
    ghm_format_duration(b, sizeof b, 0);
    EXPECT_STREQ(b, "0s");
    ghm_format_duration(b, sizeof b, 45.2);
    EXPECT_STREQ(b, "45s");
    ghm_format_duration(b, sizeof b, 80);
    EXPECT_STREQ(b, "1m20s");
    ghm_format_duration(b, sizeof b, 2 * 3600 + 3 * 60 + 10);
    EXPECT_STREQ(b, "2h03m");
    ghm_format_duration(b, sizeof b, 3 * 86400 + 4 * 3600);
    EXPECT_STREQ(b, "3d04h");
    ghm_format_duration(b, sizeof b, -1);
    EXPECT_STREQ(b, "?");
    ghm_format_duration(b, sizeof b, NAN);
    EXPECT_STREQ(b, "?");
}

TEST(Progress, FullLine) {
    ghm_progress_info p;
    ghm_progress_info_init(&p);
    p.epoch = 3;
    p.epochs = 10;
    p.batch = 120;
    p.batches = 500;
    p.loss = 0.12341;
    p.images_per_s = 2450.4;
    p.eta_s = 80;
    char b[256];
    int n = ghm_progress_format(b, sizeof b, &p);
    EXPECT_STREQ(b, "epoch 3/10 batch 120/500 loss 0.1234 2450 img/s ETA 1m20s");
    EXPECT_EQ(n, (int)strlen(b));
}

TEST(Progress, UnsetFieldsOmittedAndTruncation) {
    ghm_progress_info p;
    ghm_progress_info_init(&p);
    char b[256];
    ghm_progress_format(b, sizeof b, &p);
    EXPECT_STREQ(b, "");
    p.label = "embed";
    p.batch = 2;
    p.batches = 8;
    ghm_progress_format(b, sizeof b, &p);
    EXPECT_STREQ(b, "embed batch 2/8");
    char small[8];
    int n = ghm_progress_format(small, sizeof small, &p);
    EXPECT_EQ(n, 15);  // would-be length, like snprintf
    EXPECT_STREQ(small, "embed b");
}

TEST(Progress, Bar) {
    char b[64];
    ghm_progress_bar(b, sizeof b, 0.5, 10);
    EXPECT_STREQ(b, "[#####-----]  50%");
    ghm_progress_bar(b, sizeof b, 1.5, 4);
    EXPECT_STREQ(b, "[####] 100%");
    ghm_progress_bar(b, sizeof b, NAN, 4);
    EXPECT_STREQ(b, "[----]   0%");
}

TEST(Progress, Eta) {
    EXPECT_DOUBLE_EQ(ghm_progress_eta(0.25, 10.0), 30.0);
    EXPECT_DOUBLE_EQ(ghm_progress_eta(1.0, 10.0), 0.0);
    EXPECT_LT(ghm_progress_eta(0.0, 10.0), 0.0);
}

TEST(Progress, ReporterPlainAndTty) {
    char *data = nullptr;
    size_t size = 0;
    FILE *f = open_memstream(&data, &size);
    ASSERT_NE(f, nullptr);
    ghm_progress r;
    ghm_progress_init(&r, f, /*tty=*/0, /*interval_s=*/1000.0);
    ghm_progress_info p;
    ghm_progress_info_init(&p);
    p.batch = 1;
    p.batches = 4;
    EXPECT_EQ(ghm_progress_update(&r, 0.25, &p, 0), 1);  // first write always happens
    EXPECT_EQ(ghm_progress_update(&r, 0.5, &p, 0), 0);   // rate-limited
    p.batch = 4;
    EXPECT_EQ(ghm_progress_update(&r, 1.0, &p, 1), 1);   // forced
    ghm_progress_finish(&r);
    fflush(f);
    std::string s(data, size);
    EXPECT_EQ(s.rfind("batch 1/4 ETA ", 0), 0u) << s;
    EXPECT_NE(s.find("\nbatch 4/4 ETA 0s\n"), std::string::npos) << s;
    EXPECT_EQ(s.find('\r'), std::string::npos);
    fclose(f);
    free(data);

    data = nullptr;
    f = open_memstream(&data, &size);
    ghm_progress_init(&r, f, /*tty=*/1, 0.0);
    r.bar_width = 4;
    p.batch = 2;
    p.eta_s = 5;
    ghm_progress_update(&r, 0.5, &p, 0);
    ghm_progress_finish(&r);
    fflush(f);
    s.assign(data, size);
    EXPECT_EQ(s, "\r[##--]  50% batch 2/4 ETA 5s\n");
    fclose(f);
    free(data);
}
