// runner/mpi.c and `ghm run` across processes: the work queue and plan hash
// (no MPI needed), shards 1/3..3/3 == one process, and, when built with MPI
// and `mpirun` is on PATH: 2 ranks == one process (same run ids, exactly the
// same test metrics), a plan mismatch between ranks is refused, and killing
// one rank mid-sweep then rerunning completes the sweep without redoing the
// finished runs.
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "experiment/experiment.h"
#include "runner/mpi.h"
#include "experiment/record.h"
#include "runner/run.h"
}

#include "test_util.h"

namespace {

using namespace ghm_test; // every helper of test_util.h

// 6 runs (3 margins x 2 seeds) of a tiny MLP on synthetic 8x8 images; a run
// takes a few milliseconds
const char *kSweep = "name: NAME\n"
                     "seeds: [0, 1]\n"
                     "dataset: {name: synthetic, classes: 4, train_per_class: 16, test_per_class: 8, image_size: 8, "
                     "val_fraction: 0.25}\n"
                     "backbone: {name: mlp, embedding_dim: 8}\n"
                     "train: {epochs: EPOCHS, steps_per_epoch: STEPS, batch_size: 8, m_per_class: 2}\n"
                     "losses:\n"
                     "  - name: triplet\n"
                     "    sweep: {margin: [0.1, 0.2, MARGIN]}\n";

std::string sweep_yaml(const std::string &name, int epochs, int steps, const char *margin = "0.3")
{
    std::string s = kSweep;
    auto rep = [&s](const std::string &a, const std::string &b) {
        size_t p = s.find(a);
        if (p != std::string::npos) s.replace(p, a.size(), b);
    };
    rep("NAME", name);
    rep("EPOCHS", std::to_string(epochs));
    rep("STEPS", std::to_string(steps));
    rep("MARGIN", margin);
    return s;
}

void write_file(const std::string &path, const std::string &text)
{
    FILE *f = fopen(path.c_str(), "w");
    ASSERT_TRUE(f) << path;
    fputs(text.c_str(), f);
    fclose(f);
}

// exit status of a shell command (-1 when it did not exit normally)
// Open MPI in containers and CI: allow root, local launch only, shared memory
void mpi_env()
{
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_plm", "isolated", 1);
    setenv("OMPI_MCA_btl", "self,vader", 1);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    unsetenv("GHM_THREADS");
    // Sanitizer builds: Open MPI keeps allocations from MPI_Init until exit
    // (not ours). Keep its plugins loaded and unwind fully so LeakSanitizer
    // can attribute them, and suppress only leaks allocated under Open MPI's
    // libraries; leaks in ghm's own code are still reported.
    struct TmpFile {
        std::string path;
        ~TmpFile()
        {
            if (!path.empty()) unlink(path.c_str());
        }
    };
    static TmpFile tf;
    std::string &supp = tf.path;
    if (supp.empty()) {
        supp = "/tmp/ghm_mpi_lsan_" + std::to_string(getpid()) + ".supp";
        write_file(supp, "leak:libmpi.so\nleak:libopen-rte.so\nleak:libopen-pal.so\nleak:libevent\n"
                         "leak:libpmix\nleak:libhwloc\nleak:mca_\nleak:libfabric\nleak:libucs\nleak:libucp\n");
    }
    setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
    const char *asan = getenv("ASAN_OPTIONS");
    std::string a = asan && *asan ? std::string(asan) + ":" : std::string();
    if (a.find("fast_unwind_on_malloc") == std::string::npos) a += "fast_unwind_on_malloc=0";
    setenv("ASAN_OPTIONS", a.c_str(), 1);
    setenv("LSAN_OPTIONS", ("suppressions=" + supp + ":print_suppressions=0").c_str(), 1);
}

#define NEED_MPI()                                                                                                   \
    do {                                                                                                             \
        if (!GHM_HAVE_MPI) GTEST_SKIP() << "built without MPI";                                                      \
        if (!on_path("mpirun")) GTEST_SKIP() << "mpirun is not on PATH";                                             \
        if (!exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";                                             \
        mpi_env();                                                                                                   \
    } while (0)

const std::string kMpirun = "mpirun --allow-run-as-root --oversubscribe -np 2 ";

// run id -> test metrics (name -> value) and the final training loss
struct Result {
    std::map<std::string, double> test;
    double last_loss = 0;
};

std::map<std::string, Result> read_results(const std::string &out)
{
    std::map<std::string, Result> m;
    std::string runs = out + "/runs";
    DIR *d = opendir(runs.c_str());
    if (!d) return m;
    struct dirent *e;
    while ((e = readdir(d)) != nullptr) {
        if (e->d_name[0] == '.') continue;
        std::string rp = runs + "/" + e->d_name + "/record.json";
        if (!exists(rp)) continue;
        ghm_record r;
        ghm_error err;
        EXPECT_EQ(ghm_record_read(rp.c_str(), &r, &err), 0) << err.msg;
        Result res;
        for (int i = 0; i < r.test.n; i++) res.test[r.test.name[i]] = r.test.value[i];
        if (r.n_history > 0) res.last_loss = r.history[r.n_history - 1].train_loss;
        m[e->d_name] = res;
        ghm_record_free(&r);
    }
    closedir(d);
    return m;
}

void expect_same_results(const std::map<std::string, Result> &a, const std::map<std::string, Result> &b)
{
    ASSERT_EQ(a.size(), b.size());
    for (const auto &kv : a) {
        auto it = b.find(kv.first);
        ASSERT_NE(it, b.end()) << "run " << kv.first << " missing";
        ASSERT_FALSE(kv.second.test.empty());
        // same seed and thread count: bit-identical numbers, whichever process ran it
        EXPECT_EQ(kv.second.test, it->second.test) << "run " << kv.first;
        EXPECT_EQ(kv.second.last_loss, it->second.last_loss) << "run " << kv.first;
    }
}

// the process ids of parent's children whose command line mentions `needle`
// (Open MPI may start the ranks under another command name, so match argv)
std::vector<pid_t> children_with_arg(pid_t parent, const std::string &needle)
{
    std::vector<pid_t> out;
    DIR *d = opendir("/proc");
    if (!d) return out;
    struct dirent *e;
    while ((e = readdir(d)) != nullptr) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        std::string st = read_all(std::string("/proc/") + e->d_name + "/stat");
        size_t r = st.rfind(')');
        if (r == std::string::npos || r + 4 >= st.size()) continue;
        long ppid = strtol(st.c_str() + r + 4, nullptr, 10); // "pid (comm) S ppid"
        if (ppid != parent) continue;
        std::string cmdline = read_all(std::string("/proc/") + e->d_name + "/cmdline");
        for (char &c : cmdline)
            if (c == '\0') c = ' ';
        if (cmdline.find(needle) != std::string::npos) out.push_back((pid_t)pid);
    }
    closedir(d);
    return out;
}

double now_s()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// wait for pid up to timeout_s; kill it (SIGKILL) if it is still there
int wait_or_kill(pid_t pid, double timeout_s)
{
    double t0 = now_s();
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return st;
        }
        usleep(20000);
    }
}

int count_records(const std::string &out)
{
    return (int)read_results(out).size();
}

} // namespace

// ---- without MPI ----

TEST(MpiQueue, HandsOutInOrderAndStops)
{
    int idx[] = {4, 1, 7};
    ghm_work_queue q;
    ghm_work_queue_init(&q, idx, 3);
    int pos;
    EXPECT_EQ(ghm_work_queue_take(&q, &pos), 4);
    EXPECT_EQ(pos, 0);
    EXPECT_EQ(ghm_work_queue_take(&q, &pos), 1);
    EXPECT_EQ(pos, 1);
    ghm_work_queue_stop(&q);
    EXPECT_EQ(ghm_work_queue_take(&q, &pos), -1);
    EXPECT_EQ(pos, -1);
    ghm_work_queue_init(&q, idx, 3);
    for (int i = 0; i < 3; i++) EXPECT_EQ(ghm_work_queue_take(&q, nullptr), idx[i]);
    EXPECT_EQ(ghm_work_queue_take(&q, &pos), -1);
    ghm_work_queue_init(&q, nullptr, 0);
    EXPECT_EQ(ghm_work_queue_take(&q, &pos), -1);
}

TEST(MpiPlan, HashIsStableAndSeesEveryRun)
{
    ghm_experiment a, b, c;
    ghm_error err;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    ASSERT_EQ(ghm_experiment_load_string(sweep_yaml("h", 1, 2).c_str(), "a.yaml", &a, &err), 0) << err.msg;
    ASSERT_EQ(ghm_experiment_load_string(sweep_yaml("h", 1, 2).c_str(), "b.yaml", &b, &err), 0) << err.msg;
    ASSERT_EQ(ghm_experiment_load_string(sweep_yaml("h", 1, 2, "0.4").c_str(), "c.yaml", &c, &err), 0) << err.msg;
    EXPECT_EQ(ghm_plan_hash(&a), ghm_plan_hash(&b));
    EXPECT_NE(ghm_plan_hash(&a), ghm_plan_hash(&c)); // one run differs
    // same runs under another experiment name write elsewhere: a different plan
    snprintf(b.name, sizeof b.name, "other");
    EXPECT_NE(ghm_plan_hash(&a), ghm_plan_hash(&b));
    ghm_experiment_free(&a);
    ghm_experiment_free(&b);
    ghm_experiment_free(&c);
}

TEST(MpiInit, SingleProcessWithoutLauncher)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"};
    for (const char *v : vars) unsetenv(v);
    EXPECT_EQ(ghm_mpi_launched(), 0);
    ghm_mpi m;
    ghm_error err;
    ASSERT_EQ(ghm_mpi_init(&m, &err), 0);
    EXPECT_EQ(m.active, 0);
    EXPECT_EQ(m.rank, 0);
    EXPECT_EQ(m.size, 1);
    EXPECT_EQ(m.local_size, 1);
    // collectives are the identity for one process
    EXPECT_EQ(ghm_mpi_allreduce_int(&m, 5, GHM_MPI_SUM), 5);
    EXPECT_EQ(ghm_mpi_bcast_int(&m, 7), 7);
    int t = ghm_mpi_default_threads(&m);
    EXPECT_GE(t, 1);
    EXPECT_LE(t, ghm_mpi_affinity_cpus());
    // N local ranks share the node's cores
    m.local_size = 1000;
    EXPECT_EQ(ghm_mpi_default_threads(&m), 1);
    ghm_mpi_finalize(&m);

    // the launcher's variables are recognised, and GHM_MPI=0 turns MPI off
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    EXPECT_EQ(ghm_mpi_launched(), GHM_HAVE_MPI ? 1 : 0);
    setenv("GHM_MPI", "0", 1);
    EXPECT_EQ(ghm_mpi_launched(), 0);
    unsetenv("GHM_MPI");
    unsetenv("OMPI_COMM_WORLD_SIZE");
}

TEST(MpiSweep, WithoutMpiIsAPlainSweep)
{
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(sweep_yaml("plain", 1, 2).c_str(), "p.yaml", &e, &err), 0) << err.msg;
    std::string d = tmpdir();
    ghm_mpi m;
    ASSERT_EQ(ghm_mpi_init(&m, &err), 0);
    int idx[6], n;
    ghm_sweep_select(&e, d.c_str(), nullptr, idx, &n, nullptr);
    ASSERT_EQ(n, 6);
    ghm_mpi_sweep_result res;
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    ASSERT_EQ(ghm_mpi_sweep_run(&m, &e, d.c_str(), idx, 2, &hooks, nullptr, nullptr, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_done, 2);
    EXPECT_EQ(res.n_done_all, 2);
    EXPECT_EQ(res.n_failed_all, 0);
    EXPECT_EQ(count_records(d), 2);
    // interrupted before the first run: nothing is run, EINTR
    volatile sig_atomic_t stop = 1;
    hooks.stop = &stop;
    EXPECT_EQ(ghm_mpi_sweep_run(&m, &e, d.c_str(), idx + 2, 4, &hooks, nullptr, nullptr, &res, &err), GHM_EINTR);
    EXPECT_EQ(res.n_interrupted_all, 1);
    EXPECT_EQ(res.n_done_all, 0);
    ghm_mpi_finalize(&m);
    ghm_experiment_free(&e);
    rmrf(d);
}

// ---- the ghm binary ----

TEST(MpiCli, ShardsTogetherEqualOneProcess)
{
    if (!exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    unsetenv("GHM_THREADS");
    std::string d = tmpdir(), bin = GHM_BINARY;
    write_file(d + "/s.yaml", sweep_yaml("shards", 2, 4));
    std::string q = " >/dev/null 2>&1";
    ASSERT_EQ(shell(bin + " run " + d + "/s.yaml --threads 1 --out " + d + "/one" + q), 0);
    for (int k = 1; k <= 3; k++) {
        ASSERT_EQ(shell(bin + " run " + d + "/s.yaml --threads 1 --out " + d + "/sh --shard " + std::to_string(k) +
                        "/3" + q),
                  0);
        // each shard adds its own third: runs k-1, k+2 of the plan
        EXPECT_EQ(count_records(d + "/sh/shards"), 2 * k);
        EXPECT_EQ(exists(d + "/sh/shards/summary.csv"), k == 3); // the last shard completes the plan
    }
    expect_same_results(read_results(d + "/one/shards"), read_results(d + "/sh/shards"));
    EXPECT_EQ(read_results(d + "/one/shards").size(), 6u);
    rmrf(d);
}

TEST(MpiCli, TwoRanksEqualOneProcess)
{
    NEED_MPI();
    std::string d = tmpdir(), bin = GHM_BINARY;
    write_file(d + "/s.yaml", sweep_yaml("ranks", 2, 4));
    ASSERT_EQ(shell(bin + " run " + d + "/s.yaml --threads 1 --out " + d + "/one >/dev/null 2>&1"), 0);
    ASSERT_EQ(shell(kMpirun + bin + " run " + d + "/s.yaml --threads 1 --out " + d + "/two >" + d + "/log 2>&1"), 0)
        << read_all(d + "/log");
    auto one = read_results(d + "/one/ranks"), two = read_results(d + "/two/ranks");
    EXPECT_EQ(one.size(), 6u);
    expect_same_results(one, two);
    EXPECT_TRUE(exists(d + "/two/ranks/summary.csv")); // rank 0 reported once all were done
    std::string log = read_all(d + "/log");
    EXPECT_NE(log.find("(2 ranks x 1 thread(s))"), std::string::npos) << log;
    EXPECT_NE(log.find("[rank 1/2] [run "), std::string::npos) << log; // rank 1 trained
    EXPECT_NE(log.find("[rank 0/2] [run "), std::string::npos) << log; // and so did rank 0
    EXPECT_EQ(log.find('\r'), std::string::npos);                      // plain lines only
    // rerun: nothing left, exit 0
    ASSERT_EQ(shell(kMpirun + bin + " run " + d + "/s.yaml --threads 1 --out " + d + "/two >" + d + "/log 2>&1"), 0);
    EXPECT_NE(read_all(d + "/log").find("0 to run"), std::string::npos) << read_all(d + "/log");
    rmrf(d);
}

TEST(MpiCli, CoordinatorOnlyRank0StillCompletes)
{
    // the fallback when MPI cannot give a coordinator thread: rank 0 hands out
    // work without training, rank 1 trains everything
    NEED_MPI();
    std::string d = tmpdir(), bin = GHM_BINARY;
    write_file(d + "/s.yaml", sweep_yaml("coord", 1, 2));
    std::string cmd = "GHM_MPI_RANK0_TRAINS=0 " + kMpirun + bin + " run " + d + "/s.yaml --threads 1 --out " + d +
                      "/res >" + d + "/log 2>&1";
    ASSERT_EQ(shell(cmd), 0) << read_all(d + "/log");
    std::string log = read_all(d + "/log");
    EXPECT_NE(log.find("rank 0 coordinates only"), std::string::npos) << log;
    EXPECT_EQ(log.find("[rank 0/2] [run "), std::string::npos) << log;
    EXPECT_EQ(count_records(d + "/res/coord"), 6);
    EXPECT_TRUE(exists(d + "/res/coord/summary.csv"));
    rmrf(d);
}

TEST(MpiCli, RanksWithDifferentPlansAreRefused)
{
    NEED_MPI();
    std::string d = tmpdir(), bin = GHM_BINARY;
    mkdir((d + "/r0").c_str(), 0755);
    mkdir((d + "/r1").c_str(), 0755);
    write_file(d + "/r0/s.yaml", sweep_yaml("mismatch", 1, 2));
    write_file(d + "/r1/s.yaml", sweep_yaml("mismatch", 1, 2, "0.4"));
    // each rank reads its own file
    std::string cmd = kMpirun + "sh -c 'exec " + bin + " run " + d + "/r$OMPI_COMM_WORLD_RANK/s.yaml --out " + d +
                      "/res' >" + d + "/log 2>&1";
    EXPECT_NE(shell(cmd), 0);
    std::string log = read_all(d + "/log");
    EXPECT_NE(log.find("every rank must read the same experiment file"), std::string::npos) << log;
    EXPECT_FALSE(exists(d + "/res/mismatch/runs")); // nothing was run
    rmrf(d);
}

TEST(MpiCli, KilledRankThenRerunCompletesWithoutRedoing)
{
    NEED_MPI();
    std::string d = tmpdir(), bin = GHM_BINARY;
    // 6 runs of ~0.3 s each (Release), so the kill lands mid-sweep
    write_file(d + "/k.yaml", sweep_yaml("kill", 3, 80));
    std::string out = d + "/res/kill";
    std::string log = d + "/log";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        std::string dres = d + "/res";
        execlp("mpirun", "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", bin.c_str(), "run",
               (d + "/k.yaml").c_str(), "--threads", "1", "--out", dres.c_str(), (char *)nullptr);
        _exit(127);
    }
    // wait for the first record, then SIGKILL one rank
    double t0 = now_s();
    while (count_records(out) == 0 && now_s() - t0 < 20) usleep(5000);
    std::vector<pid_t> ranks = children_with_arg(pid, d + "/k.yaml");
    int killed = 0;
    if (!ranks.empty()) killed = kill(ranks.back(), SIGKILL) == 0;
    int st = wait_or_kill(pid, 30);
    ASSERT_EQ(killed, 1) << "no rank found to kill (mpirun pid " << pid << "); log:\n" << read_all(log);
    EXPECT_FALSE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << read_all(log); // the job failed
    auto before = read_results(out);
    ASSERT_GE(before.size(), 1u);
    if (before.size() >= 6u) GTEST_SKIP() << "the sweep finished before the kill (machine too fast/slow)";
    // snapshot the finished records: content (incl. its timings) and mtime
    std::map<std::string, std::pair<std::string, long>> snap;
    for (const auto &kv : before) {
        std::string p = out + "/runs/" + kv.first + "/record.json";
        struct stat sb;
        ASSERT_EQ(stat(p.c_str(), &sb), 0);
        snap[kv.first] = {read_all(p), (long)sb.st_mtim.tv_sec * 1000000000L + sb.st_mtim.tv_nsec};
    }
    // rerun the same command: only the missing runs are trained
    std::string cmd = kMpirun + bin + " run " + d + "/k.yaml --threads 1 --out " + d + "/res >" + log + " 2>&1";
    ASSERT_EQ(shell(cmd), 0) << read_all(log);
    std::string text = read_all(log);
    char expect[64];
    snprintf(expect, sizeof expect, "%zu already finished, %zu to run", before.size(), 6 - before.size());
    EXPECT_NE(text.find(expect), std::string::npos) << text;
    auto after = read_results(out);
    EXPECT_EQ(after.size(), 6u);
    for (const auto &kv : snap) {
        std::string p = out + "/runs/" + kv.first + "/record.json";
        struct stat sb;
        ASSERT_EQ(stat(p.c_str(), &sb), 0);
        EXPECT_EQ(read_all(p), kv.second.first) << "run " << kv.first << " was redone";
        EXPECT_EQ((long)sb.st_mtim.tv_sec * 1000000000L + sb.st_mtim.tv_nsec, kv.second.second);
    }
    EXPECT_TRUE(exists(out + "/summary.csv"));
    rmrf(d);
}

TEST(MpiCli, AFailedRunOnAnyRankFailsTheJob)
{
    NEED_MPI();
    std::string d = tmpdir(), bin = GHM_BINARY;
    std::string yaml = sweep_yaml("fail", 1, 2);
    write_file(d + "/f.yaml", yaml);
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(yaml.c_str(), "f.yaml", &e, &err), 0) << err.msg;
    ASSERT_EQ(e.n_runs, 6);
    // run 3's directory cannot be created (a file is in the way): that run fails with an I/O error
    std::string runs = d + "/res/fail/runs";
    ASSERT_EQ(shell("mkdir -p '" + runs + "'"), 0);
    write_file(runs + "/" + e.runs[3].run_id, "in the way\n");
    std::string cmd = kMpirun + bin + " run " + d + "/f.yaml --threads 1 --out " + d + "/res >" + d + "/log 2>&1";
    EXPECT_EQ(shell(cmd), 1) << read_all(d + "/log");
    std::string log = read_all(d + "/log");
    // the failure is named, the ranks go on with the other runs, the report is written, exit 1 at the end
    EXPECT_NE(log.find(std::string("run failed after")), std::string::npos) << log;
    EXPECT_NE(log.find(std::string("run ") + e.runs[3].run_id), std::string::npos) << log;
    EXPECT_NE(log.find("1 run(s) failed"), std::string::npos) << log;
    EXPECT_TRUE(exists(d + "/res/fail/summary.csv"));
    EXPECT_EQ(count_records(d + "/res/fail"), 5);
    ghm_experiment_free(&e);
    rmrf(d);
}
