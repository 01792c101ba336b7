// Core: errors, RNG, parameter specs, .npy I/O.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <unistd.h>

extern "C" {
#include "core/error.h"
#include "core/npy.h"
#include "core/params.h"
#include "core/rng.h"
#include "core/tensor.h"
}

#include "test_util.h"

namespace {

using ghm_test::read_all;
using ghm_test::tmpdir;

void write_bytes(const std::string &path, const std::string &bytes)
{
    FILE *f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
}

// A v1 .npy file with a given header dict and payload.
std::string npy_bytes(const std::string &dict, const std::string &payload)
{
    std::string h = dict;
    size_t total = 10 + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h.push_back('\n');
    std::string s("\x93NUMPY\x01\x00", 8);
    s.push_back((char)(h.size() & 0xff));
    s.push_back((char)(h.size() >> 8));
    return s + h + payload;
}

} // namespace

TEST(Error, SetPrefixAndExitStatus)
{
    ghm_error e;
    ghm_error_clear(&e);
    EXPECT_EQ(e.code, 0);
    EXPECT_EQ(ghm_error_set(&e, GHM_EINPUT, "field '%s' is bad", "lr"), GHM_EINPUT);
    EXPECT_STREQ(e.msg, "field 'lr' is bad");
    ghm_error_prefix(&e, "x.yaml:%d:%d", 3, 7);
    EXPECT_STREQ(e.msg, "x.yaml:3:7: field 'lr' is bad");
    EXPECT_EQ(ghm_error_exit_status(GHM_EINPUT), 2);
    EXPECT_EQ(ghm_error_exit_status(GHM_EIO), 1);
    EXPECT_EQ(ghm_error_exit_status(GHM_ENUM), 1);
    EXPECT_EQ(ghm_error_exit_status(0), 0);
    GHM_FAIL(&e, GHM_EFAIL, "boom %d", 1);
    EXPECT_NE(strstr(e.msg, "test_core.cc:"), nullptr) << e.msg;
    EXPECT_NE(strstr(e.msg, "boom 1"), nullptr);
}

TEST(Rng, DeterministicAndStreamsIndependent)
{
    ghm_rng a, b, c;
    ghm_rng_seed(&a, 42, 1);
    ghm_rng_seed(&b, 42, 1);
    ghm_rng_seed(&c, 42, 2);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = ghm_rng_u32(&a), y = ghm_rng_u32(&b), z = ghm_rng_u32(&c);
        ASSERT_EQ(x, y);
        same_c += (x == z);
    }
    EXPECT_LT(same_c, 3);
    // A fixed value pins the generator across machines and refactors (PCG32 reference output).
    ghm_rng r;
    ghm_rng_seed(&r, 42, 54);
    EXPECT_EQ(ghm_rng_u32(&r), 0xa15c02b7u);
    EXPECT_EQ(ghm_rng_u32(&r), 0x7b47f409u);
}

TEST(Rng, UniformNormalBelowShuffle)
{
    ghm_rng r;
    ghm_rng_seed(&r, 7, GHM_STREAM_USER);
    double s = 0, s2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = ghm_rng_uniform(&r);
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
    }
    for (int i = 0; i < n; i++) {
        double z = ghm_rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    EXPECT_NEAR(s / n, 0.0, 0.01);
    EXPECT_NEAR(s2 / n, 1.0, 0.02);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[ghm_rng_below(&r, 7)]++;
    for (int k = 0; k < 7; k++) EXPECT_NEAR(counts[k], 10000, 400);
    std::vector<int> v(100);
    for (int i = 0; i < 100; i++) v[i] = i;
    ghm_rng_shuffle(&r, v.data(), 100);
    std::vector<int> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 100; i++) EXPECT_EQ(sorted[i], i);
    EXPECT_NE(v, sorted);
}

static const char *const kProb[] = {"js", "hellinger", nullptr};
static const ghm_param_spec kSpec[] = {
    {"alpha", 0.5, 0.0, 1.0, "trade-off", nullptr, 0, 0, 0},
    {"tau", 0.1, 0.0, 100.0, "temperature", nullptr, 0, 1, 0},
    {"prob", 0, 0, 0, "probabilistic distance", kProb, 0, 0, 0},
    {"k", 3, 1, 10, "an integer", nullptr, 1, 0, 0},
    {nullptr, 0, 0, 0, nullptr, nullptr, 0, 0, 0},
};

TEST(Params, ResolveFillsDefaultsInSpecOrder)
{
    ghm_params in, out;
    ghm_params_clear(&in);
    ghm_params_set(&in, "tau", 0.5);
    ghm_error e;
    ASSERT_EQ(ghm_params_resolve(kSpec, &in, &out, "loss 'x'", &e), 0) << e.msg;
    ASSERT_EQ(out.n, 4);
    EXPECT_STREQ(out.name[0], "alpha");
    EXPECT_EQ(out.value[0], 0.5);
    EXPECT_EQ(out.value[1], 0.5);
    EXPECT_EQ(out.value[2], 0.0);
    EXPECT_EQ(out.value[3], 3.0);
}

TEST(Params, RejectsUnknownAndOutOfRange)
{
    ghm_params in, out;
    ghm_error e;
    ghm_params_clear(&in);
    ghm_params_set(&in, "alpah", 0.3);
    EXPECT_EQ(ghm_params_resolve(kSpec, &in, &out, "loss 'ghm'", &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "unknown parameter 'alpah'"), nullptr) << e.msg;
    EXPECT_NE(strstr(e.msg, "did you mean 'alpha'"), nullptr) << e.msg;

    ghm_params_clear(&in);
    ghm_params_set(&in, "alpha", 1.5);
    EXPECT_EQ(ghm_params_resolve(kSpec, &in, &out, "loss 'ghm'", &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "out of range [0, 1]"), nullptr) << e.msg;

    ghm_params_clear(&in);
    ghm_params_set(&in, "tau", 0.0); // open lower bound
    EXPECT_EQ(ghm_params_resolve(kSpec, &in, &out, "loss 'ghm'", &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "(0,"), nullptr) << e.msg;

    ghm_params_clear(&in);
    ghm_params_set(&in, "k", 2.5);
    EXPECT_EQ(ghm_params_resolve(kSpec, &in, &out, "x", &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "integer"), nullptr) << e.msg;
}

TEST(Params, ParseAndFormatEnums)
{
    double v = -1;
    ghm_error e;
    ASSERT_EQ(ghm_param_parse(&kSpec[2], "hellinger", &v, "ghm", &e), 0);
    EXPECT_EQ(v, 1.0);
    EXPECT_EQ(ghm_param_parse(&kSpec[2], "helinger", &v, "ghm", &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "did you mean 'hellinger'"), nullptr) << e.msg;
    EXPECT_EQ(ghm_param_parse(&kSpec[0], "abc", &v, "ghm", &e), GHM_EINPUT);
    ASSERT_EQ(ghm_param_parse(&kSpec[0], "0.25", &v, "ghm", &e), 0);
    EXPECT_EQ(v, 0.25);
    char buf[32];
    EXPECT_STREQ(ghm_param_format(&kSpec[2], 1.0, buf, sizeof buf), "hellinger");
    EXPECT_STREQ(ghm_param_format(&kSpec[0], 0.25, buf, sizeof buf), "0.25");
    EXPECT_STREQ(ghm_param_format(&kSpec[3], 3, buf, sizeof buf), "3");
    EXPECT_EQ(ghm_edit_distance("kitten", "sitting"), 3);
}

TEST(Tensor, InitAlignedZeroed)
{
    ghm_tensor t;
    int shape[2] = {3, 5};
    ASSERT_EQ(ghm_tensor_init(&t, "w", 2, shape, 1), 0);
    EXPECT_EQ(t.n, 15u);
    EXPECT_EQ(((uintptr_t)t.data) % GHM_ALIGN, 0u);
    for (size_t i = 0; i < t.n; i++) EXPECT_EQ(t.data[i], 0.0f);
    EXPECT_TRUE(ghm_all_finite(t.data, t.n));
    t.grad[4] = NAN;
    EXPECT_FALSE(ghm_all_finite(t.grad, t.n));
    ghm_tensor_free(&t);
}

TEST(Npy, RoundTripFloatAndLabels)
{
    std::string d = tmpdir();
    std::vector<float> x = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, 42.0f};
    size_t shape[2] = {3, 2};
    ghm_error e;
    std::string p = d + "/x.npy";
    ASSERT_EQ(ghm_npy_write_f32(p.c_str(), x.data(), 2, shape, &e), 0) << e.msg;
    float *y = nullptr;
    int n = 0, dim = 0;
    ASSERT_EQ(ghm_npy_read_f32_2d(p.c_str(), &y, &n, &dim, &e), 0) << e.msg;
    EXPECT_EQ(n, 3);
    EXPECT_EQ(dim, 2);
    for (int i = 0; i < 6; i++) EXPECT_EQ(y[i], x[i]);
    free(y);
    // header is 64-byte aligned and parseable as numpy writes it
    std::string raw = read_all(p);
    EXPECT_EQ((raw.size() - 6 * 4) % 64, 0u);
    EXPECT_NE(raw.find("'shape': (3, 2)"), std::string::npos);

    std::vector<int32_t> l = {0, 3, 1};
    size_t ls[1] = {3};
    std::string pl = d + "/l.npy";
    ASSERT_EQ(ghm_npy_write_i32(pl.c_str(), l.data(), 1, ls, &e), 0);
    EXPECT_NE(read_all(pl).find("'shape': (3,)"), std::string::npos);
    int *lab = nullptr;
    ASSERT_EQ(ghm_npy_read_labels(pl.c_str(), &lab, &n, &e), 0) << e.msg;
    ASSERT_EQ(n, 3);
    EXPECT_EQ(lab[1], 3);
    free(lab);

    std::vector<double> dd = {0.5, 0.25};
    size_t ds[2] = {1, 2};
    std::string pd = d + "/d.npy";
    ASSERT_EQ(ghm_npy_write_f64(pd.c_str(), dd.data(), 2, ds, &e), 0);
    ASSERT_EQ(ghm_npy_read_f32_2d(pd.c_str(), &y, &n, &dim, &e), 0) << e.msg;
    EXPECT_EQ(y[1], 0.25f);
    free(y);
}

TEST(Npy, ReadsInt64LabelsAndVersion2)
{
    std::string d = tmpdir();
    int64_t v[3] = {5, 6, 7};
    write_bytes(d + "/a.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                        std::string((const char *)v, sizeof v)));
    int *lab = nullptr, n = 0;
    ghm_error e;
    ASSERT_EQ(ghm_npy_read_labels((d + "/a.npy").c_str(), &lab, &n, &e), 0) << e.msg;
    EXPECT_EQ(n, 3);
    EXPECT_EQ(lab[2], 7);
    free(lab);
    // version 2.0 header (4-byte length)
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }";
    std::string h = dict + std::string((64 - (12 + dict.size() + 1) % 64) % 64, ' ') + "\n";
    std::string s("\x93NUMPY\x02\x00", 8);
    uint32_t len = (uint32_t)h.size();
    s.append((const char *)&len, 4);
    float one = 1.0f;
    s += h + std::string((const char *)&one, 4);
    write_bytes(d + "/v2.npy", s);
    float *y = nullptr;
    int dim;
    ASSERT_EQ(ghm_npy_read_f32_2d((d + "/v2.npy").c_str(), &y, &n, &dim, &e), 0) << e.msg;
    EXPECT_EQ(y[0], 1.0f);
    free(y);
}

struct BadNpy {
    const char *name;
    std::string bytes;
    const char *expect;
};

TEST(Npy, RejectsBadFilesWithClearMessages)
{
    std::string d = tmpdir();
    float f4[4] = {1, 2, 3, 4};
    std::string p4((const char *)f4, sizeof f4);
    std::vector<BadNpy> cases = {
        {"magic", "NOTNUMPYxxxxxxxxxxxx", "bad magic"},
        {"empty", "", "bad magic"},
        {"short_header", std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17), "truncated .npy header"},
        {"truncated_data", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", p4.substr(0, 10)),
         "truncated .npy data"},
        {"trailing", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", p4), "trailing bytes"},
        {"fortran", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", p4), "Fortran"},
        {"bigendian", npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", p4), "big-endian"},
        {"dtype", npy_bytes("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 4), }", p4), "not supported"},
        {"object", npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", p4), "not supported"},
        {"noshape", npy_bytes("{'descr': '<f4', 'fortran_order': False, }", p4), "shape"},
        {"version", std::string("\x93NUMPY\x09\x00\x10\x00", 10) + std::string(16, ' '), "version"},
    };
    for (const auto &c : cases) {
        std::string p = d + "/" + c.name + ".npy";
        write_bytes(p, c.bytes);
        ghm_npy a;
        ghm_error e;
        EXPECT_EQ(ghm_npy_read(p.c_str(), &a, &e), GHM_EINPUT) << c.name;
        EXPECT_NE(strstr(e.msg, c.expect), nullptr) << c.name << ": " << e.msg;
        EXPECT_NE(strstr(e.msg, p.c_str()), nullptr) << "message names the file: " << e.msg;
    }
    ghm_npy a;
    ghm_error e;
    EXPECT_EQ(ghm_npy_read((d + "/missing.npy").c_str(), &a, &e), GHM_EINPUT);
}

TEST(Npy, ConvenienceReadersCheckShapeAndType)
{
    std::string d = tmpdir();
    float f4[4] = {1, 2, 3, 4};
    std::string p4((const char *)f4, sizeof f4);
    write_bytes(d + "/v.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", p4));
    float *y;
    int n, dim, *lab;
    ghm_error e;
    EXPECT_EQ(ghm_npy_read_f32_2d((d + "/v.npy").c_str(), &y, &n, &dim, &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "2-D"), nullptr) << e.msg;
    // float labels with integral values are fine, fractional ones are not
    ASSERT_EQ(ghm_npy_read_labels((d + "/v.npy").c_str(), &lab, &n, &e), 0) << e.msg;
    free(lab);
    float fr[2] = {1.0f, 1.5f};
    write_bytes(d + "/fr.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                         std::string((const char *)fr, sizeof fr)));
    EXPECT_EQ(ghm_npy_read_labels((d + "/fr.npy").c_str(), &lab, &n, &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "not an integer"), nullptr) << e.msg;
    int32_t i4[4] = {1, 2, 3, 4};
    write_bytes(d + "/i.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
                                        std::string((const char *)i4, sizeof i4)));
    EXPECT_EQ(ghm_npy_read_f32_2d((d + "/i.npy").c_str(), &y, &n, &dim, &e), GHM_EINPUT);
    EXPECT_NE(strstr(e.msg, "float32"), nullptr) << e.msg;
}
