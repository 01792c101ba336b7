#!/usr/bin/env python3
"""Evaluation speed of ghm against faiss's exact k-NN search, side by side.

Optional tool, never part of the build or the tests (ghm does not depend on
Python). Needs faiss (Debian: apt-get install python3-faiss) and numpy.

For each round it runs, alternately, `ghm bench eval --n N --dim D` (every
metric: Recall@K, MAP@R, R-precision, NMI/AMI, on clustered unit-norm
embeddings it generates itself) and faiss's exact search (IndexFlatL2, every
point queried against all N, k = 9: the 8 neighbours Recall@8 needs plus the
query itself) on unit-norm embeddings of the same size, and prints both times.
faiss's time is the search alone (no metric computed from it); ghm's is kNN +
all retrieval metrics + k-means and NMI/AMI (its `knn_s + kmeans_s`; data
generation is not counted in either).

  /usr/bin/python3 bench/compare_faiss.py --ghm build/ghm --rounds 2
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_faiss(a):
    import numpy as np
    import faiss
    faiss.omp_set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    centres = rng.standard_normal((a.classes, a.dim)).astype(np.float32)
    lab = rng.integers(0, a.classes, a.n)
    x = centres[lab] + rng.standard_normal((a.n, a.dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = np.ascontiguousarray(x, dtype=np.float32)
    index = faiss.IndexFlatL2(a.dim)
    index.add(x)
    t0 = time.perf_counter()
    index.search(x, a.k)
    return time.perf_counter() - t0, faiss.__version__ if hasattr(faiss, "__version__") else "?"


def run_ghm(a):
    cmd = [a.ghm, "bench", "eval", "--n", str(a.n), "--dim", str(a.dim), "--threads", str(a.threads), "--classes",
           str(a.classes), "--metrics", "recall,map_r,r_precision,nmi"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return j["knn_s"] + j["kmeans_s"], j


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ghm", default="build/ghm")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--n", type=int, default=35000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--classes", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--k", type=int, default=9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--faiss-only", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.faiss_only:
        s, v = run_faiss(a)
        print(json.dumps({"seconds": s, "version": v}))
        return
    g, f, ver = [], [], "?"
    for r in range(a.rounds):
        gs, j = run_ghm(a)
        g.append(gs)
        out = subprocess.run([sys.executable, __file__, "--faiss-only", "--n", str(a.n), "--dim", str(a.dim),
                              "--classes", str(a.classes), "--threads", str(a.threads), "--k", str(a.k), "--seed",
                              str(a.seed)], check=True, capture_output=True, text=True).stdout
        jf = json.loads(out.strip().splitlines()[-1])
        f.append(jf["seconds"])
        ver = jf["version"]
        print(f"round {r + 1}: ghm all metrics {gs:.2f} s (kNN + retrieval metrics {j['knn_s']:.2f} s, k-means + "
              f"NMI/AMI {j['kmeans_s']:.2f} s), faiss exact {a.k}-NN {f[-1]:.2f} s", file=sys.stderr, flush=True)
    print(f"| {a.n:,} x {a.dim}, {a.threads} threads | seconds median (min-max) |")
    print("|---|---:|")
    print(f"| ghm: Recall@K, MAP@R, R-precision, NMI/AMI | {statistics.median(g):.2f} ({min(g):.2f}-{max(g):.2f}) |")
    print(f"| faiss {ver}: exact {a.k}-NN search alone (IndexFlatL2) | {statistics.median(f):.2f} "
          f"({min(f):.2f}-{max(f):.2f}) |")
    print(f"\nghm / faiss: {statistics.median(g) / statistics.median(f):.2f} (median of {a.rounds} alternating rounds; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
          + (f", DNNL_MAX_CPU_ISA={os.environ['DNNL_MAX_CPU_ISA']}" if os.environ.get("DNNL_MAX_CPU_ISA") else "")
          + ")")


if __name__ == "__main__":
    main()
