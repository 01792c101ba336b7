// The architecture holds (docs/architecture.md): calls between source files
// form no circle, every folder calls only folders below it, and no function is
// longer than 150 lines. The call graph is read from the built object files
// with `nm` (a symbol a file uses -> the file that defines it), so it sees
// what the code does, not what its #include lines say.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>

namespace {

// Folder -> its floor. A file may call files of its own folder and of folders
// on lower floors only.
const std::map<std::string, int> kFloor = {
    {"generated", 0}, {"core", 0},   {"nn", 1},         {"datasets", 1}, {"search", 1},
    {"eval", 2},      {"losses", 2}, {"backbones", 2},  {"experiment", 3}, {"runner", 4},
    {"report", 5},    {"cli", 6},
};

std::string bin_dir()
{
    std::string b = GHM_BINARY;
    return b.substr(0, b.rfind('/'));
}

bool is_dir(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void walk(const std::string &dir, const std::function<void(const std::string &)> &fn)
{
    DIR *d = opendir(dir.c_str());
    if (!d) return;
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        std::string p = dir + "/" + n;
        if (is_dir(p)) {
            walk(p, fn);
        } else {
            fn(p);
        }
    }
    closedir(d);
}

// source path relative to the repository ("runner/run.c") -> its object file
std::map<std::string, std::string> library_objects()
{
    std::map<std::string, std::string> out;
    std::string cm = bin_dir() + "/CMakeFiles";
    DIR *d = opendir(cm.c_str());
    if (!d) return out;
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name;
        // the libraries' objects (tests, fuzz targets and stale folders of renamed targets aside)
        if (n.rfind("ghm_", 0) != 0 || n.size() < 5 || n.substr(n.size() - 4) != ".dir" || n == "ghm_fuzz_targets.dir")
            continue;
        std::string root = cm + "/" + n;
        walk(root, [&](const std::string &p) {
            if (p.size() < 4 || p.substr(p.size() - 4) != ".c.o") return;
            std::string rel = p.substr(root.size() + 1, p.size() - root.size() - 3);
            size_t g = rel.find("generated/");
            if (g != std::string::npos) rel = rel.substr(g);
            struct stat st;
            if (rel.rfind("generated/", 0) != 0 &&
                stat((std::string(GHM_SOURCE_DIR) + "/" + rel).c_str(), &st) != 0)
                return; // an object of a file that no longer exists
            out[rel] = p;
        });
    }
    closedir(d);
    // the command's own files
    std::string cli = cm + "/ghm.dir";
    walk(cli, [&](const std::string &p) {
        if (p.size() < 4 || p.substr(p.size() - 4) != ".c.o") return;
        out[p.substr(cli.size() + 1, p.size() - cli.size() - 3)] = p;
    });
    return out;
}

typedef std::map<std::string, std::set<std::string>> Graph;

// one `nm -A` over every object: "object: address type symbol" / "object:  U symbol"
Graph read_call_graph()
{
    std::map<std::string, std::string> objs = library_objects(), file_of;
    std::string cmd = "nm -A";
    for (const auto &kv : objs) {
        cmd += " '" + kv.second + "'";
        file_of[kv.second] = kv.first;
    }
    cmd += " 2>/dev/null";
    std::map<std::string, std::string> defs;
    std::map<std::string, std::set<std::string>> uses;
    FILE *f = objs.empty() ? nullptr : popen(cmd.c_str(), "r");
    char line[2048];
    while (f && fgets(line, sizeof line, f)) {
        std::string l = line;
        size_t colon = l.find(": ");
        if (colon == std::string::npos) colon = l.find(':');
        if (colon == std::string::npos) continue;
        auto it = file_of.find(l.substr(0, colon));
        if (it == file_of.end()) continue;
        std::istringstream ss(l.substr(colon + 1));
        std::vector<std::string> w;
        std::string x;
        while (ss >> x) w.push_back(x);
        if (w.size() == 3 && std::string("TDBR").find(w[1]) != std::string::npos) defs[w[2]] = it->second;
        if (w.size() == 2 && w[0] == "U") uses[it->second].insert(w[1]);
    }
    if (f) pclose(f);
    Graph g;
    for (const auto &kv : uses) {
        g[kv.first];
        for (const auto &s : kv.second) {
            auto d = defs.find(s);
            if (d != defs.end() && d->second != kv.first) g[kv.first].insert(d->second);
        }
    }
    return g;
}

const Graph &call_graph()
{
    static const Graph g = read_call_graph();
    return g;
}

std::string folder(const std::string &file) { return file.substr(0, file.find('/')); }

// strongly connected components with more than one file (Tarjan)
std::vector<std::vector<std::string>> circles(const Graph &g)
{
    std::map<std::string, int> idx, low;
    std::set<std::string> on;
    std::vector<std::string> st;
    std::vector<std::vector<std::string>> out;
    int counter = 0;
    std::function<void(const std::string &)> visit = [&](const std::string &v) {
        idx[v] = low[v] = counter++;
        st.push_back(v);
        on.insert(v);
        auto it = g.find(v);
        if (it != g.end())
            for (const auto &w : it->second) {
                if (!idx.count(w)) {
                    visit(w);
                    low[v] = std::min(low[v], low[w]);
                } else if (on.count(w)) {
                    low[v] = std::min(low[v], idx[w]);
                }
            }
        if (low[v] == idx[v]) {
            std::vector<std::string> comp;
            std::string w;
            do {
                w = st.back();
                st.pop_back();
                on.erase(w);
                comp.push_back(w);
            } while (w != v);
            if (comp.size() > 1) out.push_back(comp);
        }
    };
    for (const auto &kv : g)
        if (!idx.count(kv.first)) visit(kv.first);
    return out;
}

} // namespace

TEST(Layout, TheCallGraphIsReadFromEveryFolder)
{
    const Graph &g = call_graph();
    std::set<std::string> seen;
    for (const auto &kv : g) seen.insert(folder(kv.first));
    for (const auto &kv : kFloor) {
        if (kv.first == "generated") continue;
        EXPECT_TRUE(seen.count(kv.first)) << "no object files of " << kv.first << "/";
    }
    // a known edge, so that an empty graph cannot pass the tests below
    auto t = g.find("runner/trainer.c");
    ASSERT_TRUE(t != g.end());
    EXPECT_TRUE(t->second.count("losses/loss.c") || t->second.count("losses/registry.c"));
}

TEST(Layout, NoCirclesBetweenFiles)
{
    std::ostringstream bad;
    for (const auto &c : circles(call_graph())) {
        bad << "circle:";
        for (const auto &f : c) bad << " " << f;
        bad << "\n";
    }
    EXPECT_EQ(bad.str(), "");
}

TEST(Layout, EveryFolderCallsOnlyFoldersBelowIt)
{
    std::ostringstream bad;
    for (const auto &kv : call_graph()) {
        std::string a = folder(kv.first);
        auto fa = kFloor.find(a);
        if (fa == kFloor.end()) {
            bad << kv.first << ": folder " << a << "/ has no floor in kFloor (docs/architecture.md)\n";
            continue;
        }
        for (const auto &t : kv.second) {
            std::string b = folder(t);
            if (a == b) continue;
            auto fb = kFloor.find(b);
            if (fb == kFloor.end() || fb->second >= fa->second) bad << kv.first << " -> " << t << "\n";
        }
    }
    EXPECT_EQ(bad.str(), "");
}

// A function body: from a line "{" at column 0 to the next "}" at column 0 (the
// project's style for function definitions).
TEST(Layout, NoFunctionLongerThan150Lines)
{
    std::ostringstream bad;
    int n_files = 0;
    for (const auto &kv : kFloor) {
        if (kv.first == "generated") continue;
        walk(std::string(GHM_SOURCE_DIR) + "/" + kv.first, [&](const std::string &p) {
            if (p.size() < 2 || p.substr(p.size() - 2) != ".c") return;
            n_files++;
            std::string rel = p.substr(std::string(GHM_SOURCE_DIR).size() + 1);
            std::ifstream f(p);
            std::string line, prev, name;
            int ln = 0, start = 0;
            while (std::getline(f, line)) {
                ln++;
                if (line == "{") {
                    start = ln;
                    name = prev;
                } else if (line == "}" && start) {
                    if (ln - start - 1 > 150)
                        bad << rel << ":" << start << ": " << name << " (" << ln - start - 1 << " lines)\n";
                    start = 0;
                }
                if (!line.empty() && line[0] != ' ' && line != "{") prev = line;
            }
        });
    }
    EXPECT_GT(n_files, 50);
    EXPECT_EQ(bad.str(), "");
}
