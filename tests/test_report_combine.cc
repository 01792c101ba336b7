// `ghm report --combine` on search results (report/report_combine.c), checked against the search's own
// summary.csv, on the search directories committed in results/ (read only: nothing is written there):
// each loss's cells are the final runs' test metrics of the setting the search chose, separate and
// concatenated, mean ± 95% half-width over reproductions; the "Selected" note names the chosen setting;
// two experiments on the same dataset and protocol get columns that say which is which.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "report/report.h"
}

namespace {

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s) {
        if (ch == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    out.push_back(cur);
    return out;
}

std::string trim(const std::string &s)
{
    size_t a = s.find_first_not_of(" *"), b = s.find_last_not_of(" *");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// summary.csv of a search: loss label -> column -> text
struct Csv {
    std::vector<std::string> header;
    std::map<std::string, std::map<std::string, std::string>> rows;
};

Csv read_csv(const std::string &path)
{
    Csv c;
    std::ifstream f(path);
    EXPECT_TRUE(f.good()) << path;
    std::string line;
    if (!std::getline(f, line)) return c;
    c.header = split(line, ',');
    while (std::getline(f, line)) {
        auto v = split(line, ',');
        if (v.size() != c.header.size()) continue;
        for (size_t i = 0; i < v.size(); i++) c.rows[v[0]][c.header[i]] = v[i];
    }
    return c;
}

// the Markdown table: header cells and loss -> cells (bold marks stripped)
struct Table {
    std::vector<std::string> header;
    std::map<std::string, std::vector<std::string>> rows;
    std::string note;
};

Table parse_md(const std::string &md)
{
    Table t;
    std::istringstream in(md);
    std::string line;
    int row = 0;
    while (std::getline(in, line)) {
        if (line.size() < 2 || line[0] != '|') {
            if (!line.empty()) t.note += line + "\n";
            continue;
        }
        auto cells = split(line.substr(1, line.size() - 2), '|');
        for (auto &c : cells) c = trim(c);
        if (row == 0)
            t.header = cells;
        else if (row > 1)
            t.rows[cells[0]] = std::vector<std::string>(cells.begin(), cells.end());
        row++;
    }
    return t;
}

// "79.3 ± 1.2" -> (79.3, 1.2)
bool parse_cell(const std::string &cell, double *mean, double *ci)
{
    const std::string pm = " ± ";
    size_t p = cell.find(pm);
    if (p == std::string::npos) return false;
    char *end;
    *mean = std::strtod(cell.c_str(), &end);
    *ci = std::strtod(cell.c_str() + p + pm.size(), &end);
    return true;
}

const std::string kSrc = GHM_SOURCE_DIR;

} // namespace

TEST(ReportCombine, SearchColumnsAreTheChosenSettingsFinalTestMetrics)
{
    const std::string fair = kSrc + "/results/paper_fair_fashion_mnist",
                      classes = kSrc + "/results/paper_fair_fashion_mnist_classes",
                      plain = kSrc + "/results/paper_fashion_mnist";
    const char *dirs[] = {fair.c_str(), classes.c_str(), plain.c_str()};
    char *md = nullptr, *tex = nullptr;
    ghm_combine_result res;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_report_combine_markdown(dirs, 3, &md, &tex, &res, &err), 0) << err.msg;
    const std::string text = md, latex = tex;
    free(md);
    free(tex);
    const Table t = parse_md(text);
    ASSERT_FALSE(t.header.empty()) << text;
    EXPECT_EQ(res.n_experiments, 3);

    // every column header names one experiment: the two "fashion-mnist, standard" ones by their names
    std::set<std::string> headers(t.header.begin(), t.header.end());
    EXPECT_EQ(headers.size(), t.header.size()) << "two columns with one header:\n" << text;
    EXPECT_NE(text.find("fashion-mnist, standard (paper_fair_fashion_mnist): R@1 |"), std::string::npos) << text;
    EXPECT_NE(text.find("fashion-mnist, standard (paper_fashion_mnist): R@1 |"), std::string::npos) << text;
    EXPECT_NE(latex.find("\\multicolumn{4}{c}{fashion-mnist, standard (paper\\_fair\\_fashion\\_mnist)}"),
              std::string::npos)
        << latex;

    struct Dir {
        std::string path, label;
    } search_dirs[] = {{fair, "fashion-mnist, standard (paper_fair_fashion_mnist)"},
                       {classes, "fashion-mnist, class-disjoint"}};
    int checked = 0;
    for (const Dir &d : search_dirs) {
        const Csv csv = read_csv(d.path + "/summary.csv");
        ASSERT_FALSE(csv.rows.empty()) << d.path;
        for (const auto &row : csv.rows) {
            const std::string &loss = row.first;
            const auto &v = row.second;
            auto it = t.rows.find(loss);
            ASSERT_NE(it, t.rows.end()) << loss << " has no row:\n" << text;
            // (metric, concatenated) -> the column "<label>: <header>"
            struct Cell {
                const char *metric, *header;
                bool concat;
            } cells[] = {{"recall@1", "R@1", false},
                         {"recall@1", "R@1 concat.", true},
                         {"map@r", "MAP@R", false},
                         {"map@r", "MAP@R concat.", true}};
            for (const Cell &c : cells) {
                const std::string col = d.label + ": " + c.header;
                size_t j = 0;
                while (j < t.header.size() && t.header[j] != col) j++;
                ASSERT_LT(j, t.header.size()) << "no column '" << col << "':\n" << text;
                const std::string key = std::string(c.metric) + (c.concat ? "_concat" : "");
                const double want_mean = 100 * std::atof(v.at(key + "_mean").c_str()),
                             want_ci = 100 * std::atof(v.at(key + "_ci95").c_str());
                double mean, ci;
                ASSERT_TRUE(parse_cell(it->second[j], &mean, &ci))
                    << loss << " " << col << ": '" << it->second[j] << "'\n"
                    << text;
                // the table rounds to 0.1, summary.csv has 6 significant digits
                EXPECT_NEAR(mean, want_mean, 0.0501) << loss << " " << col;
                EXPECT_NEAR(ci, want_ci, 0.0501) << loss << " " << col;
                checked++;
            }
            // the Selected note: the chosen values of summary.csv's setting columns
            if (v.at("tuned") != "yes") continue;
            const std::string head = loss + " on " + d.label + ": ";
            size_t at = t.note.find(head);
            ASSERT_NE(at, std::string::npos) << "no selection for " << head << "\n" << t.note;
            size_t end = t.note.find("; ", at);
            const std::string sel = t.note.substr(at, end == std::string::npos ? std::string::npos : end - at);
            int named = 0;
            for (size_t k = 5; k < csv.header.size() && csv.header[k].rfind("val_", 0) != 0; k++) {
                const std::string &col = csv.header[k], &value = v.at(col);
                if (value.empty()) continue;
                // a key several losses search is "<loss>.<key>" in summary.csv; the note names the loss already
                const std::string param = col.rfind(loss + ".", 0) == 0 ? col.substr(loss.size() + 1) : col;
                EXPECT_NE(sel.find(param + " = " + value), std::string::npos)
                    << "selection of " << loss << " on " << d.label << ": '" << sel << "', summary.csv: " << param
                    << " = " << value;
                named++;
            }
            EXPECT_GT(named, 0) << sel;
        }
    }
    EXPECT_EQ(checked, 2 * 6 * 4);
}

// The plain (sweep) columns are as before: the same cells as results/paper_combined.md's first
// experiment, which `ghm report --combine` made from the plain directories alone.
TEST(ReportCombine, PlainColumnsUnchangedBesideSearchColumns)
{
    const std::string fair = kSrc + "/results/paper_fair_fashion_mnist", plain = kSrc + "/results/paper_fashion_mnist";
    const char *both[] = {fair.c_str(), plain.c_str()}, *alone[] = {plain.c_str()};
    char *md = nullptr, *tex = nullptr, *md1 = nullptr, *tex1 = nullptr;
    ghm_combine_result res;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_report_combine_markdown(both, 2, &md, &tex, &res, &err), 0) << err.msg;
    ASSERT_EQ(ghm_report_combine_markdown(alone, 1, &md1, &tex1, &res, &err), 0) << err.msg;
    const Table a = parse_md(md), b = parse_md(md1);
    free(md), free(tex), free(md1), free(tex1);
    ASSERT_EQ(b.header.size(), 3u);
    ASSERT_EQ(a.header.size(), 1u + 4 + 2);
    EXPECT_EQ(a.header[5], "fashion-mnist, standard (paper_fashion_mnist): R@1");
    EXPECT_EQ(b.header[1], "fashion-mnist, standard: R@1");
    ASSERT_EQ(a.rows.size(), b.rows.size());
    for (const auto &row : b.rows) {
        auto it = a.rows.find(row.first);
        ASSERT_NE(it, a.rows.end()) << row.first;
        EXPECT_EQ(it->second[5], row.second[1]) << row.first;
        EXPECT_EQ(it->second[6], row.second[2]) << row.first;
    }
}

// A family-held-out study says so in its column headers, and the note says a
// search's setting was selected on the search's own objective (the study's is
// validation MAP@R, not Recall@1).
TEST(ReportCombine, FamilyHeldOutStudyIsLabelledAsSuch)
{
    const std::string glyphs = kSrc + "/results/study_glyphs", fm = kSrc + "/results/study_fashion_mnist_classes";
    const char *dirs[] = {fm.c_str(), glyphs.c_str()};
    char *md = nullptr, *tex = nullptr;
    ghm_combine_result res;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_report_combine_markdown(dirs, 2, &md, &tex, &res, &err), 0) << err.msg;
    const std::string text = md;
    free(md);
    free(tex);
    EXPECT_NE(text.find("| glyphs, class-disjoint, family held out: MAP@R |"), std::string::npos) << text;
    EXPECT_NE(text.find("| fashion-mnist, class-disjoint: MAP@R |"), std::string::npos) << text;
    EXPECT_NE(text.find("a search: its own objective"), std::string::npos) << text;
}
