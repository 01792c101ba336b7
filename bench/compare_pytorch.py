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

Workloads (batch 120, 128-d L2-normalised embedding, 2 threads by default):
  train convnet / resnet: m-per-class batches of Fashion-MNIST (12 images of
      each of 10 classes), contrastive loss (Hadsell et al., margins 0 and 1,
      as ghm's `contrastive`), Adam; images per second over the timed steps.
  embed convnet / resnet: inference over the 10,000 Fashion-MNIST test images.
The PyTorch networks mirror backbones/convnet.c and backbones/resnet.c
(blocks 1) layer for layer.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"


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
        F.normalize(net(xt[:a.batch]), dim=1)  # warm-up
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
    elif a.n > 0:
        cmd += ["--n", str(a.n)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return j["images_per_s"], j["images"] / j["cpu_seconds"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ghm", default="build/ghm")
    p.add_argument("--rounds", type=int, default=3, help="A B pairs per workload")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=120)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--n", type=int, default=0, help="embed: the first N test images (default all 10,000)")
    p.add_argument("--workloads", default="train:convnet,train:resnet,embed:convnet,embed:resnet")
    p.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="train", help=argparse.SUPPRESS)
    p.add_argument("--backbone", default="convnet", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_only:
        ips, ipc = run_torch(a)
        print(json.dumps({"images_per_s": ips, "images_per_cpu_s": ipc}))
        return
    rows = []
    for w in a.workloads.split(","):
        kind, bb = w.split(":")
        g, t, gc, tc = [], [], [], []
        for _ in range(a.rounds):
            ips, ipc = run_ghm(argparse.Namespace(**{**vars(a), "kind": kind, "backbone": bb}))
            g.append(ips)
            gc.append(ipc)
            out = subprocess.run([sys.executable, __file__, "--torch-only", "--kind", kind, "--backbone", bb,
                                  "--threads", str(a.threads), "--batch", str(a.batch), "--dim", str(a.dim),
                                  "--steps", str(a.steps), "--warmup", str(a.warmup), "--n", str(a.n)],
                                 check=True, capture_output=True, text=True).stdout
            j = json.loads(out.strip().splitlines()[-1])
            t.append(j["images_per_s"])
            tc.append(j["images_per_cpu_s"])
            print(f"{kind} {bb}: ghm {g[-1]:.0f} img/s ({gc[-1]:.0f} per CPU-s), PyTorch {t[-1]:.0f} img/s "
                  f"({tc[-1]:.0f} per CPU-s)", file=sys.stderr, flush=True)
        ratios = [x / y for x, y in zip(g, t)]
        rows.append((kind, bb, g, t, ratios, statistics.median(gc) / statistics.median(tc)))
    import torch
    print(f"| workload | ghm img/s median (min-max) | PyTorch {torch.__version__} img/s median (min-max) "
          f"| ratio median (min-max of pairs) | ratio of images per CPU-second |")
    print("|---|---|---|---|---|")
    for kind, bb, g, t, r, rc in rows:
        print(f"| {kind} `{bb}` | {statistics.median(g):,.0f} ({min(g):,.0f}-{max(g):,.0f}) "
              f"| {statistics.median(t):,.0f} ({min(t):,.0f}-{max(t):,.0f}) "
              f"| {statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f}) | {rc:.2f}x |")
    print(f"\n{a.rounds} A/B pairs per workload, batch {a.batch}, {a.threads} threads, dim {a.dim}, "
          f"train: {a.steps} timed steps after {a.warmup}, embed: {a.n or 10000} test images")


if __name__ == "__main__":
    main()
