// core/json.c: parser (values, errors with line:column), writer, file helpers.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

extern "C" {
#include "core/fileio.h"
#include "core/fsutil.h"
#include "core/json.h"
}

#include "test_util.h"

namespace {

using ghm_test::tmpdir;
using ghm_test::rmrf;

ghm_json *parse_ok(const std::string &s)
{
    ghm_json *j = nullptr;
    ghm_error err;
    ghm_error_clear(&err);
    int rc = ghm_json_parse(s.data(), s.size(), "t.json", &j, &err);
    EXPECT_EQ(rc, 0) << err.msg;
    return j;
}

std::string parse_err(const std::string &s)
{
    ghm_json *j = nullptr;
    ghm_error err;
    ghm_error_clear(&err);
    int rc = ghm_json_parse(s.data(), s.size(), "t.json", &j, &err);
    EXPECT_EQ(rc, GHM_EINPUT) << "input: " << s;
    EXPECT_EQ(j, nullptr);
    return err.msg;
}

} // namespace

TEST(Json, ParsesScalars)
{
    ghm_json *j = parse_ok("  -12.5e1 ");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->type, GHM_JSON_NUMBER);
    EXPECT_DOUBLE_EQ(j->num, -125.0);
    ghm_json_free(j);

    j = parse_ok("true");
    EXPECT_EQ(j->type, GHM_JSON_BOOL);
    EXPECT_EQ(j->num, 1);
    ghm_json_free(j);
    j = parse_ok("false");
    EXPECT_EQ(j->type, GHM_JSON_BOOL);
    EXPECT_EQ(j->num, 0);
    ghm_json_free(j);
    j = parse_ok("null");
    EXPECT_EQ(j->type, GHM_JSON_NULL);
    ghm_json_free(j);
    j = parse_ok("0");
    EXPECT_EQ(j->num, 0);
    ghm_json_free(j);
}

TEST(Json, ParsesStringsWithEscapes)
{
    ghm_json *j = parse_ok("\"a\\\"b\\\\c\\n\\t\\u00e9\\ud83d\\ude00/\\/\"");
    ASSERT_TRUE(j);
    ASSERT_EQ(j->type, GHM_JSON_STRING);
    EXPECT_STREQ(j->str, "a\"b\\c\n\t\xc3\xa9\xf0\x9f\x98\x80//");
    ghm_json_free(j);
}

TEST(Json, ParsesNestedObjectAndGetters)
{
    ghm_json *j = parse_ok("{\"a\": 1, \"b\": [1, 2, {\"c\": \"x\"}], \"d\": {}, \"e\": [], \"f\": true}");
    ASSERT_TRUE(j);
    ASSERT_EQ(j->type, GHM_JSON_OBJECT);
    EXPECT_EQ(j->n, 5);
    EXPECT_DOUBLE_EQ(ghm_json_num(j, "a", -1), 1.0);
    EXPECT_DOUBLE_EQ(ghm_json_num(j, "zz", -1), -1.0);
    EXPECT_DOUBLE_EQ(ghm_json_num(j, "b", -1), -1.0); // wrong type -> default
    EXPECT_DOUBLE_EQ(ghm_json_num(j, "f", -1), 1.0);  // bool as 0/1
    const ghm_json *b = ghm_json_get(j, "b");
    ASSERT_TRUE(b);
    ASSERT_EQ(b->type, GHM_JSON_ARRAY);
    ASSERT_EQ(b->n, 3);
    EXPECT_STREQ(ghm_json_str(&b->items[2], "c", "def"), "x");
    EXPECT_STREQ(ghm_json_str(j, "a", "def"), "def");
    EXPECT_EQ(ghm_json_get(j, "d")->n, 0);
    EXPECT_EQ(ghm_json_get(j, "e")->type, GHM_JSON_ARRAY);
    EXPECT_EQ(ghm_json_get(b, "x"), nullptr); // not an object
    EXPECT_EQ(ghm_json_get(nullptr, "x"), nullptr);
    ghm_json_free(j);
}

TEST(Json, ErrorsCarryLineAndColumn)
{
    std::string m = parse_err("{\n  \"a\": 1,\n  \"b\" 2\n}");
    EXPECT_NE(m.find("t.json:3:7:"), std::string::npos) << m;
    EXPECT_NE(m.find("':'"), std::string::npos) << m;

    m = parse_err("[1, 2");
    EXPECT_NE(m.find("t.json:1:6:"), std::string::npos) << m;
    m = parse_err("\"abc");
    EXPECT_NE(m.find("t.json:1:1: unterminated string"), std::string::npos) << m;
    m = parse_err("{\"a\":1} x");
    EXPECT_NE(m.find("1:9"), std::string::npos) << m;
    parse_err("");
    parse_err("01");
    parse_err("1.");
    parse_err("1e");
    parse_err("-");
    parse_err("tru");
    parse_err("[1,]");
    parse_err("{\"a\":1,}");
    parse_err("{1:2}");
    parse_err("\"\\x\"");
    parse_err("\"\\u12g4\"");
    parse_err("\"\\ud800\"");
    parse_err("\"a\nb\"");
    parse_err("nul");
    // deep nesting is an error, not a stack overflow
    parse_err(std::string(100000, '['));
}

TEST(Json, NestingLimitIsOneConstant)
{
    // exactly GHM_JSON_MAX_DEPTH nested arrays parse; one more is refused at the opening bracket
    std::string ok = std::string(GHM_JSON_MAX_DEPTH, '[') + std::string(GHM_JSON_MAX_DEPTH, ']');
    ghm_json *j = parse_ok(ok);
    ASSERT_TRUE(j);
    ghm_json_free(j);
    std::string deep = "{\"a\":\n" + std::string(GHM_JSON_MAX_DEPTH, '[') + std::string(GHM_JSON_MAX_DEPTH, ']') + "}";
    std::string m = parse_err(deep);
    char where[64];
    snprintf(where, sizeof where, "t.json:2:%d: ", GHM_JSON_MAX_DEPTH);
    EXPECT_NE(m.find(where), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(GHM_JSON_MAX_DEPTH)), std::string::npos) << m;

    // the writer: GHM_JSON_MAX_DEPTH levels are written and parse back; one more fails
    ghm_jw w;
    ghm_jw_init(&w, 1);
    for (int i = 0; i < GHM_JSON_MAX_DEPTH; i++) ghm_jw_begin_array(&w);
    ghm_jw_int(&w, 7);
    for (int i = 0; i < GHM_JSON_MAX_DEPTH; i++) ghm_jw_end_array(&w);
    ASSERT_EQ(w.failed, 0);
    j = parse_ok(w.buf);
    ASSERT_TRUE(j);
    const ghm_json *v = j;
    for (int i = 0; i < GHM_JSON_MAX_DEPTH; i++) {
        ASSERT_EQ(v->type, GHM_JSON_ARRAY);
        ASSERT_EQ(v->n, 1);
        v = &v->items[0];
    }
    EXPECT_EQ(v->num, 7);
    ghm_json_free(j);
    ghm_jw_free(&w);

    ghm_jw_init(&w, 0);
    for (int i = 0; i <= GHM_JSON_MAX_DEPTH; i++) ghm_jw_begin_object(&w), ghm_jw_key(&w, "k");
    ghm_jw_null(&w);
    for (int i = 0; i <= GHM_JSON_MAX_DEPTH; i++) ghm_jw_end_object(&w);
    EXPECT_EQ(w.failed, 1);
    ghm_jw_free(&w);
}

TEST(Json, ErrorsCountLinesAndColumnsFromOne)
{
    // \r\n ends a line like \n; a tab is one column; columns count bytes
    std::string m = parse_err("[1,\r\n\t2,\r\n\t\t@]");
    EXPECT_NE(m.find("t.json:3:3: unexpected character"), std::string::npos) << m;
    m = parse_err("{\"\xc3\xa9\": tru}");
    EXPECT_NE(m.find("t.json:1:8: "), std::string::npos) << m;
    m = parse_err("\n\n");
    EXPECT_NE(m.find("t.json:3:1: unexpected end of input"), std::string::npos) << m;
}

TEST(Json, KeyOrderIsKept)
{
    // parsed members stay in the order of the text (no sorting, no hashing); a repeated key keeps both,
    // ghm_json_get finds the first
    ghm_json *j = parse_ok("{\"zeta\": 1, \"alpha\": 2, \"mid\": {\"b\": 0, \"a\": 0}, \"alpha\": 3, \"0\": 4}");
    ASSERT_TRUE(j);
    ASSERT_EQ(j->n, 5);
    const char *want[] = {"zeta", "alpha", "mid", "alpha", "0"};
    for (int i = 0; i < 5; i++) EXPECT_STREQ(j->keys[i], want[i]);
    EXPECT_STREQ(ghm_json_get(j, "mid")->keys[0], "b");
    EXPECT_EQ(ghm_json_num(j, "alpha", 0), 2);

    // written in call order, and parsed back in that order
    ghm_jw w;
    ghm_jw_init(&w, 0);
    ghm_jw_begin_object(&w);
    for (int i = 0; i < 5; i++) {
        ghm_jw_key(&w, want[i]);
        ghm_jw_int(&w, i);
    }
    ghm_jw_end_object(&w);
    ASSERT_EQ(w.failed, 0);
    EXPECT_STREQ(w.buf, "{\"zeta\":0,\"alpha\":1,\"mid\":2,\"alpha\":3,\"0\":4}");
    ghm_json *k = parse_ok(w.buf);
    ASSERT_TRUE(k);
    for (int i = 0; i < 5; i++) {
        EXPECT_STREQ(k->keys[i], want[i]);
        EXPECT_EQ(k->items[i].num, i);
    }
    ghm_json_free(k);
    ghm_jw_free(&w);
    ghm_json_free(j);
}

namespace {
// write v, parse it back: the same bits (for -0, +0: the writer prints "0")
void expect_round_trip(double v)
{
    ghm_jw w;
    ghm_jw_init(&w, 0);
    ghm_jw_number(&w, v);
    ASSERT_EQ(w.failed, 0);
    ghm_json *j = parse_ok(w.buf);
    ASSERT_TRUE(j);
    ASSERT_EQ(j->type, GHM_JSON_NUMBER) << w.buf;
    double want = v == 0.0 ? 0.0 : v;
    uint64_t a, b;
    memcpy(&a, &want, sizeof a);
    memcpy(&b, &j->num, sizeof b);
    EXPECT_EQ(a, b) << "wrote " << w.buf << " for " << v;
    ghm_json_free(j);
    ghm_jw_free(&w);
}
} // namespace

TEST(JsonWriter, DoublesRoundTripExactly)
{
    const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1.0 / 3.0, 2.0 / 3.0, M_PI, M_E,
                            1e15, 1e15 - 1, 1e15 + 1, -1e15, 999999999999999.0, 999999999999999.5,
                            9007199254740992.0, 9007199254740993.0, 18014398509481984.0, 1e300, -1e-300,
                            DBL_MAX, -DBL_MAX, DBL_MIN, DBL_EPSILON, 1.0 + DBL_EPSILON, 4.9406564584124654e-324,
                            2.2250738585072009e-308, 0.30000000000000004, 123456.789, 5e-324, 1e23, 8.41e21,
                            0.000123456789012345678};
    for (double v : fixed) expect_round_trip(v);
    // random bit patterns over the whole range (finite values only), and random values in [0, 1)
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int tried = 0;
    while (tried < 20000) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!std::isfinite(v)) continue;
        expect_round_trip(v);
        expect_round_trip((double)(x >> 11) * 0x1.0p-53);
        tried++;
    }
}

TEST(Json, TruncatedInputsNeverCrash)
{
    std::string doc = "{\"run_id\": \"abc\", \"x\": [1.5, -2e-3, {\"y\": null}], \"s\": \"\\u00e9\"}";
    for (size_t n = 0; n < doc.size(); n++) {
        ghm_json *j = nullptr;
        ghm_error err;
        int rc = ghm_json_parse(doc.data(), n, "t", &j, &err);
        EXPECT_LT(rc, 0) << "prefix of length " << n;
        EXPECT_EQ(j, nullptr);
    }
    ghm_json *j = parse_ok(doc);
    ghm_json_free(j);
}

TEST(JsonWriter, CompactAndRoundTrip)
{
    ghm_jw w;
    ghm_jw_init(&w, 0);
    ghm_jw_begin_object(&w);
    ghm_jw_key(&w, "name");
    ghm_jw_string(&w, "q\"uo\\te\n\x01");
    ghm_jw_key(&w, "pi");
    ghm_jw_number(&w, 3.141592653589793);
    ghm_jw_key(&w, "tenth");
    ghm_jw_number(&w, 0.1);
    ghm_jw_key(&w, "n");
    ghm_jw_int(&w, -42);
    ghm_jw_key(&w, "whole");
    ghm_jw_number(&w, 3.0);
    ghm_jw_key(&w, "nan");
    ghm_jw_number(&w, NAN);
    ghm_jw_key(&w, "inf");
    ghm_jw_number(&w, INFINITY);
    ghm_jw_key(&w, "arr");
    ghm_jw_begin_array(&w);
    ghm_jw_bool(&w, 1);
    ghm_jw_null(&w);
    ghm_jw_begin_array(&w);
    ghm_jw_end_array(&w);
    ghm_jw_begin_object(&w);
    ghm_jw_end_object(&w);
    ghm_jw_end_array(&w);
    ghm_jw_end_object(&w);
    ASSERT_EQ(w.failed, 0);
    EXPECT_STREQ(w.buf, "{\"name\":\"q\\\"uo\\\\te\\n\\u0001\",\"pi\":3.1415926535897931,\"tenth\":0.10000000000000001,"
                        "\"n\":-42,\"whole\":3,\"nan\":null,\"inf\":null,\"arr\":[true,null,[],{}]}");
    ghm_json *j = parse_ok(w.buf);
    ASSERT_TRUE(j);
    EXPECT_STREQ(ghm_json_str(j, "name", ""), "q\"uo\\te\n\x01");
    EXPECT_EQ(ghm_json_num(j, "pi", 0), 3.141592653589793); // exact round trip
    EXPECT_EQ(ghm_json_num(j, "tenth", 0), 0.1);
    EXPECT_EQ(ghm_json_get(j, "nan")->type, GHM_JSON_NULL);
    EXPECT_EQ(ghm_json_get(j, "arr")->n, 4);
    ghm_json_free(j);
    ghm_jw_free(&w);
}

TEST(JsonWriter, PrettyIsIndentedAndParses)
{
    ghm_jw w;
    ghm_jw_init(&w, 1);
    ghm_jw_begin_object(&w);
    ghm_jw_key(&w, "a");
    ghm_jw_begin_array(&w);
    ghm_jw_int(&w, 1);
    ghm_jw_int(&w, 2);
    ghm_jw_end_array(&w);
    ghm_jw_key(&w, "b");
    ghm_jw_begin_object(&w);
    ghm_jw_end_object(&w);
    ghm_jw_end_object(&w);
    EXPECT_STREQ(w.buf, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}");
    ghm_json *j = parse_ok(w.buf);
    ghm_json_free(j);
    ghm_jw_free(&w);
}

TEST(JsonFiles, AtomicWriteReadMkdirs)
{
    std::string d = tmpdir();
    std::string sub = d + "/a/b//c/";
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_mkdirs(sub.c_str(), &err), 0) << err.msg;
    ASSERT_EQ(ghm_mkdirs(sub.c_str(), &err), 0) << err.msg; // idempotent
    struct stat st;
    ASSERT_EQ(stat((d + "/a/b/c").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));

    std::string f = d + "/a/b/c/x.json";
    const char *text = "{\"k\": [1, 2]}";
    ASSERT_EQ(ghm_write_file_atomic(f.c_str(), text, strlen(text), &err), 0) << err.msg;
    const char *text2 = "{\"k\": 7}";
    ASSERT_EQ(ghm_write_file_atomic(f.c_str(), text2, strlen(text2), &err), 0) << err.msg;
    char *data = nullptr;
    size_t n = 0;
    ASSERT_EQ(ghm_read_file(f.c_str(), &data, &n, &err), 0) << err.msg;
    EXPECT_EQ(n, strlen(text2));
    EXPECT_STREQ(data, text2);
    free(data);

    // no temp file left behind
    DIR *dir = opendir((d + "/a/b/c").c_str());
    ASSERT_TRUE(dir);
    int count = 0;
    while (struct dirent *e = readdir(dir))
        if (e->d_name[0] != '.') count++;
    closedir(dir);
    EXPECT_EQ(count, 1);

    ghm_json *j = nullptr;
    ASSERT_EQ(ghm_json_parse_file(f.c_str(), &j, &err), 0) << err.msg;
    EXPECT_EQ(ghm_json_num(j, "k", 0), 7);
    ghm_json_free(j);

    // a file where a directory is wanted
    EXPECT_LT(ghm_mkdirs((f + "/sub").c_str(), &err), 0);
    // missing file
    EXPECT_EQ(ghm_read_file((d + "/none").c_str(), &data, &n, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("none"), std::string::npos);
    EXPECT_LT(ghm_json_parse_file((d + "/none").c_str(), &j, &err), 0);
    // writing into a missing directory fails cleanly
    EXPECT_EQ(ghm_write_file_atomic((d + "/no/such/dir/x").c_str(), "x", 1, &err), GHM_EIO);

    // parse error names the file
    std::string bad = d + "/bad.json";
    ASSERT_EQ(ghm_write_file_atomic(bad.c_str(), "{\n\"a\" 1}", 8, &err), 0);
    EXPECT_EQ(ghm_json_parse_file(bad.c_str(), &j, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find(bad + ":2:5:"), std::string::npos) << err.msg;

    // big file (> initial read buffer)
    std::string big(100000, ' ');
    big[0] = '[';
    big[big.size() - 1] = ']';
    ASSERT_EQ(ghm_write_file_atomic(f.c_str(), big.data(), big.size(), &err), 0);
    ASSERT_EQ(ghm_json_parse_file(f.c_str(), &j, &err), 0) << err.msg;
    EXPECT_EQ(j->n, 0);
    ghm_json_free(j);
    rmrf(d);
}
