#!/usr/bin/env python3
"""Side-by-side speed of ghm and PyTorch (CPU) on the same networks.

Optional tool, never part of the build or the tests (ghm does not depend on
Python). Needs PyTorch (Debian: apt-get install python3-torch) and a Release
build of ghm. It runs, for each workload, ghm and PyTorch alternately
(A B A B ...) in separate processes, so that both see the same machine load,
and prints a Markdown table of medians with the min-max spread. The last
column compares images per CPU-second (process CPU time of the timed part, all
threads): less sensitive to other jobs on the machine, but at 2 threads it
also counts time spent spinning at barriers (ghm shortens libgomp's spin,
PyTorch keeps the default), so read it with the wall-clock ratio.

  /usr/bin/python3 bench/compare_pytorch.py --ghm build/ghm --rounds 3

PyTorch is run as its CPU performance tuning guide recommends: with tcmalloc
preloaded (Debian libtcmalloc-minimal4) when it is installed; with glibc's
malloc every large activation is mmap'ed and unmapped on each step, which
makes PyTorch up to 3x slower on some machines. The ratios are against that
tuned PyTorch; the untuned figure (glibc malloc) is printed beside it. The
script prints the CPU's instruction set (and DNNL_MAX_CPU_ISA when set), the
allocator, the kernels ghm used, and ghm's GFLOPS as a fraction of the
threads' nominal peak for the instruction set in use (2 FMA units per core x
vector width x clock from /proc/cpuinfo; --peak-flops-per-cycle overrides the
per-core figure, e.g. 32 on CPUs that split AVX-512 into two 256-bit halves).

Workloads (batch 120, 128-d L2-normalised embedding, 2 threads by default):
  train convnet / resnet: m-per-class batches of Fashion-MNIST (12 images of
      each of 10 classes), contrastive loss (Hadsell et al., margins 0 and 1,
      as ghm's `contrastive`), Adam; images per second over the timed steps.
  embed convnet / resnet: inference over the 10,000 Fashion-MNIST test images.
The PyTorch networks mirror backbones/convnet.c and backbones/resnet.c
(blocks 1) layer for layer.
"""
import argparse
import glob
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"
TCMALLOC_GLOBS = ["/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/*/libtcmalloc_minimal.so.4",
                  "/usr/lib/*/libtcmalloc.so.4"]


def tcmalloc_path():
    for g in TCMALLOC_GLOBS:
        hits = sorted(glob.glob(g))
        if hits:
            return hits[0]
    return None


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_info():
    """(model name, MHz, instruction set of the CPU)"""
    model, mhz = "unknown", 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("cpu MHz") and mhz == 0.0:
                    mhz = float(line.split(":", 1)[1])
    except OSError:
        pass
    fl = cpu_flags()
    isa = "avx512" if "avx512f" in fl else "avx2" if "avx2" in fl else "older than avx2"
    return model, mhz, isa


def nominal_flops_per_cycle(isa):
    """single-precision flops per cycle and core: 2 FMA units x lanes x 2"""
    return {"avx512": 64, "avx2": 32}.get(isa, 16)


def load_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def torch_nets(torch):
    nn = torch.nn
    F = nn.functional

    class ConvNet(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.c1 = nn.Conv2d(1, 32, 5)
            self.c2 = nn.Conv2d(32, 64, 5)
            self.f1 = nn.Linear(1024, 256)
            self.f2 = nn.Linear(256, dim)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.c1(x)), 2)
            x = F.max_pool2d(F.relu(self.c2(x)), 2)
            x = F.relu(self.f1(x.flatten(1)))
            return self.f2(x)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.abn = nn.BatchNorm2d(cout)
            self.b = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bbn = nn.BatchNorm2d(cout)
            self.s = None
            if stride != 1 or cin != cout:
                self.s = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.abn(self.a(x)))
            y = self.bbn(self.b(y))
            return F.relu(y + (self.s(x) if self.s is not None else x))

    class ResNet(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.layers = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
            self.fc = nn.Linear(64, dim)

        def forward(self, x):
            x = F.relu(self.bn(self.stem(x)))
            x = self.layers(x)
            return self.fc(x.mean((2, 3)))

    return {"convnet": ConvNet, "resnet": ResNet}


def contrastive(torch, e, y, m_pos=0.0, m_neg=1.0):
    d = torch.cdist(e, e).clamp_min(0)
    same = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool)
    pos = same & ~eye
    neg = ~same
    lp = (d[pos] - m_pos).clamp_min(0).pow(2).mean()
    ln = (m_neg - d[neg]).clamp_min(0).pow(2).mean()
    return lp + ln


def run_torch(a):
    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = torch_nets(torch)[a.backbone](a.dim)
    F = torch.nn.functional
    if a.kind == "train":
        x = load_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
        y = load_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
        by_class = [np.flatnonzero(y == c) for c in range(10)]
        rng = np.random.default_rng(1)
        m = a.batch // 10
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        net.train()
        t0 = c0 = None
        for s in range(a.warmup + a.steps):
            if s == a.warmup:
                t0, c0 = time.perf_counter(), time.process_time()
            idx = np.concatenate([rng.choice(ix, m, replace=False) for ix in by_class])
            xb = torch.from_numpy(x[idx].astype(np.float32) / 255.0).unsqueeze(1)
            yb = torch.from_numpy(y[idx].astype(np.int64))
            e = F.normalize(net(xb), dim=1)
            loss = contrastive(torch, e, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        return a.steps * a.batch / secs, a.steps * a.batch / cpu
    x = load_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))
    if a.n > 0:
        x = x[:a.n]
    net.eval()
    xt = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    with torch.no_grad():
        for i in range(0, min(len(xt), a.embed_warmup * a.batch), a.batch):  # warm-up
            F.normalize(net(xt[i:i + a.batch]), dim=1)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(xt), a.batch):
            F.normalize(net(xt[i:i + a.batch]), dim=1)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return len(xt) / secs, len(xt) / cpu


def run_ghm(a):
    cmd = [a.ghm, "bench", a.kind, "--backbone", a.backbone, "--batch", str(a.batch), "--threads", str(a.threads),
           "--dim", str(a.dim)]
    if a.kind == "train":
        cmd += ["--steps", str(a.steps), "--warmup", str(a.warmup), "--no-sgemm"]
    else:
        cmd += ["--warmup", str(a.embed_warmup)]
        if a.n > 0:
            cmd += ["--n", str(a.n)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def torch_env(tuned):
    """the environment of a PyTorch process: tcmalloc preloaded (tuned) or glibc's malloc"""
    env = dict(os.environ)
    pre = [p for p in env.get("LD_PRELOAD", "").split() if "tcmalloc" not in p and "jemalloc" not in p]
    tc = tcmalloc_path()
    if tuned and tc:
        pre.append(tc)
    if pre:
        env["LD_PRELOAD"] = " ".join(pre)
    else:
        env.pop("LD_PRELOAD", None)
    return env


def run_torch_proc(a, kind, bb, tuned):
    out = subprocess.run([sys.executable, __file__, "--torch-only", "--kind", kind, "--backbone", bb,
                          "--threads", str(a.threads), "--batch", str(a.batch), "--dim", str(a.dim),
                          "--steps", str(a.steps), "--warmup", str(a.warmup), "--embed-warmup",
                          str(a.embed_warmup), "--n", str(a.n)],
                         check=True, capture_output=True, text=True, env=torch_env(tuned)).stdout
    return json.loads(out.strip().splitlines()[-1])


def rng(v, fmt="{:,.0f}"):
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ghm", default="build/ghm")
    p.add_argument("--rounds", type=int, default=3, help="ghm / tuned PyTorch / untuned PyTorch rounds per workload")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=120)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=20, help="train: untimed steps first (both programs)")
    p.add_argument("--embed-warmup", type=int, default=10, help="embed: untimed batches first (both programs)")
    p.add_argument("--n", type=int, default=0, help="embed: the first N test images (default all 10,000)")
    p.add_argument("--no-untuned", action="store_true", help="skip PyTorch with glibc's malloc")
    p.add_argument("--peak-flops-per-cycle", type=float, default=0,
                   help="per core (default: 2 FMA units x the vector width of the instruction set in use)")
    p.add_argument("--workloads", default="train:convnet,train:resnet,embed:convnet,embed:resnet")
    p.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="train", help=argparse.SUPPRESS)
    p.add_argument("--backbone", default="convnet", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_only:
        ips, ipc = run_torch(a)
        print(json.dumps({"images_per_s": ips, "images_per_cpu_s": ipc}))
        return
    import torch
    model, mhz, cpu_isa = cpu_info()
    tc = tcmalloc_path()
    lim = os.environ.get("DNNL_MAX_CPU_ISA")
    print(f"CPU: {model}, {os.cpu_count()} logical CPUs, {mhz:.0f} MHz, instruction set {cpu_isa}"
          + (f", DNNL_MAX_CPU_ISA={lim} (oneDNN, in ghm and in PyTorch, limited to it)" if lim else ""))
    print(f"PyTorch {torch.__version__}, tuned: allocator "
          + (f"tcmalloc ({tc}, LD_PRELOAD)" if tc else "glibc malloc: tcmalloc is not installed "
             "(apt-get install libtcmalloc-minimal4), so 'tuned' = untuned here")
          + (", untuned: glibc malloc" if not a.no_untuned else "")
          + f"; {a.threads} threads; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    rows = []
    for w in a.workloads.split(","):
        kind, bb = w.split(":")
        g, gc, t, tcpu, u, gf, rss, pk = [], [], [], [], [], [], [], {}
        info = {}
        for _ in range(a.rounds):
            j = run_ghm(argparse.Namespace(**{**vars(a), "kind": kind, "backbone": bb}))
            info = j
            g.append(j["images_per_s"])
            gc.append(j["images"] / j["cpu_seconds"])
            gf.append(j.get("gflops", 0.0))
            rss.append(j.get("peak_rss_mb", 0.0))
            for key in ("avx2", "avx512"):  # the FMA peak ghm measured after its timed part
                pk[key] = max(pk.get(key, 0.0), j.get(f"peak_gflops_{key}", 0.0))
            jt = run_torch_proc(a, kind, bb, True)
            t.append(jt["images_per_s"])
            tcpu.append(jt["images_per_cpu_s"])
            msg = (f"{kind} {bb}: ghm {g[-1]:.0f} img/s ({gc[-1]:.0f} per CPU-s, {gf[-1]:.1f} GFLOPS, "
                   f"RSS {rss[-1]:.0f} MB), PyTorch tuned {t[-1]:.0f} img/s ({tcpu[-1]:.0f} per CPU-s)")
            if not a.no_untuned:
                ju = run_torch_proc(a, kind, bb, False)
                u.append(ju["images_per_s"])
                msg += f", untuned {u[-1]:.0f} img/s"
            print(msg, file=sys.stderr, flush=True)
        # the instruction set of the kernels that did the work: the products' (convnet) or oneDNN's (resnet)
        isa = info.get("gemm_isa", cpu_isa) if bb == "convnet" else info.get("onednn_isa", cpu_isa)
        if bb != "convnet" and not info.get("conv_backend", "").startswith("onednn"):
            isa = info.get("gemm_isa", cpu_isa)
        per_core = a.peak_flops_per_cycle or nominal_flops_per_cycle(isa)
        peak = per_core * a.threads * mhz * 1e-3
        if not a.peak_flops_per_cycle and pk.get(isa, 0.0) > 0:
            peak = pk[isa]  # measured: includes the boost clock the nominal MHz leaves out
        # inference on Winograd kernels (conv_backend "onednn+winograd"): the resnet's 3x3, the convnet's conv2
        wino = kind == "embed" and info.get("conv_backend", "").endswith("+winograd")
        kern = (f"{info.get('gemm_backend', '?')} sgemm" + (" + winograd" if wino else "") if bb == "convnet" else
                f"{info.get('conv_backend', '?')} conv") + f" ({isa})"
        ratios = [x / y for x, y in zip(g, t)]
        rows.append((kind, bb, g, t, u, ratios, statistics.median(gc) / statistics.median(tcpu), gf, peak, kern,
                     max(rss)))
    print()
    print(f"| workload | ghm kernels | ghm img/s | PyTorch {torch.__version__} tuned img/s | ratio to tuned "
          f"(min-max of rounds) | ratio of img per CPU-s | PyTorch untuned img/s | ghm GFLOPS (of peak) "
          f"| ratio at 100% of peak | ghm peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, bb, g, t, u, r, rc, gf, peak, kern, mx in rows:
        gfm = statistics.median(gf)
        frac = f" ({100 * gfm / peak:.0f}% of {peak:.0f})" if peak > 0 and gfm > 0 else ""
        # The ceiling: the ratio ghm would reach doing the same arithmetic at the cores' full peak
        # (its img/s scaled by peak / its GFLOPS). A goal above it needs fewer operations, not faster code.
        ceil = (f"{statistics.median(g) * peak / gfm / statistics.median(t):.2f}x"
                if peak > 0 and gfm > 0 and statistics.median(t) > 0 else "-")
        print(f"| {kind} `{bb}` | {kern} | {rng(g)} | {rng(t)} | {rng(r, '{:.2f}x')} | {rc:.2f}x "
              f"| {rng(u) if u else '-'} | {gfm:.1f}{frac} | {ceil} | {mx:.0f} |")
    print(f"\nmedian (min-max) of {a.rounds} rounds per workload (each round: ghm, PyTorch tuned"
          f"{', PyTorch untuned' if not a.no_untuned else ''}, in separate processes), batch {a.batch}, "
          f"{a.threads} threads, dim {a.dim}, train: {a.steps} timed steps after {a.warmup}, "
          f"embed: {a.n or 10000} test images after {a.embed_warmup} batches; peak = "
          + (f"{a.threads} cores x {mhz:.0f} MHz x {a.peak_flops_per_cycle:g} flops per cycle (given)"
             if a.peak_flops_per_cycle else
             f"the FMA rate of the instruction set in use that ghm measures on its {a.threads} threads after "
             f"the timed part (independent FMA chains, boost clock included; where not measured, "
             f"{a.threads} cores x {mhz:.0f} MHz x 2 FMA x vector width)"))


if __name__ == "__main__":
    main()
