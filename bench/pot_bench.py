#!/usr/bin/python3
"""POT side of the benchmark (bench/run.ts spawns it; run with Debian's /usr/bin/python3, which has POT).

    /usr/bin/python3 bench/pot_bench.py .bench-tmp/manifest.json

Reads the problems that bench/run.ts generated (raw little-endian f64 files + a JSON manifest), times only the
solver call of each (after one untimed warm-up), and prints one JSON object on stdout:
{"pot": ..., "numpy": ..., "malloc": {...}, "results": {id: {"ms": median, "times": [...], "cost": ..., ...}}}.
Progress goes to stderr.

  emd:           M = ot.dist(X, Y) (sqeuclidean) is built untimed; timed: ot.emd(a, b, M, numItermax=1e9)
                 (POT's default numItermax=1e5 stops early on the larger problems). ot.dist is timed on its
                 own as distMs, for comparison with our point-cloud mode. cost = <G, M> from the warm-up.
  wasserstein1d: timed ot.wasserstein_1d(x, y, p=p) (sorts inside); cost = W_p^p as POT returns it.
  sliced:        timed ot.sliced_wasserstein_distance(X, Y, projections=P, n_projections=k, p=p) with P the
                 d x k transpose of our k x d directions (same directions); cost = SW_p.
  sinkhorn:      M = ot.dist(X, Y) / max, untimed; timed ot.sinkhorn2(a, b, M, reg, method='sinkhorn' or
                 'sinkhorn_log', numItermax=iterations, stopThr=0), i.e. exactly `iterations` iterations;
                 cost = <P, M> as sinkhorn2 returns it.
  barycenter:    timed ot.bregman.barycenter(A.T, M, reg, method='sinkhorn' or 'sinkhorn_log', numItermax=iterations,
                 stopThr=0) (uniform weights); cost = the barycenter's second moment sum_i p_i x_i^2.
  convolutional: timed ot.bregman.convolutional_barycenter2d(A, reg, numItermax=iterations, stopThr=0) on the unit
                 square's pixel grid; cost = sum_p p * (r^2 + c^2).
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import ot


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load(entry, base):
    arr = np.fromfile(os.path.join(base, entry['path']), dtype='<f8')
    return arr.reshape(entry['shape'])


def timed(fn, reps):
    times = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times, out


def run_problem(p, base):
    f = {k: load(v, base) for k, v in p['files'].items()}
    reps = int(p['reps'])
    kind = p['kind']
    res = {}
    if kind == 'emd':
        X, Y, a, b = f['X'], f['Y'], f['a'], f['b']
        M = ot.dist(X, Y)  # sqeuclidean
        dist_times, _ = timed(lambda: ot.dist(X, Y), max(3, reps))
        G, lg = ot.emd(a, b, M, numItermax=1_000_000_000, log=True)  # warm-up, and the certificate
        res['resultCode'] = int(lg['result_code'])
        res['warning'] = lg['warning']
        res['cost'] = float(np.sum(G * M))
        del G
        times, _ = timed(lambda: ot.emd(a, b, M, numItermax=1_000_000_000), reps)
        res['distMs'] = statistics.median(dist_times)
    elif kind == 'wasserstein1d':
        x, y, pp = f['x'], f['y'], p['params']['p']
        res['cost'] = float(ot.wasserstein_1d(x, y, p=pp))  # warm-up; W_p^p
        times, _ = timed(lambda: ot.wasserstein_1d(x, y, p=pp), reps)
    elif kind == 'sliced':
        X, Y, P, pp = f['X'], f['Y'], f['projections'], p['params']['p']
        PT = np.ascontiguousarray(P.T)  # POT wants d x k
        k = PT.shape[1]
        res['cost'] = float(ot.sliced_wasserstein_distance(X, Y, projections=PT, n_projections=k, p=pp))
        times, _ = timed(lambda: ot.sliced_wasserstein_distance(X, Y, projections=PT, n_projections=k, p=pp), reps)
    elif kind == 'sinkhorn':
        X, Y, a, b = f['X'], f['Y'], f['a'], f['b']
        prm = p['params']
        M = ot.dist(X, Y)
        M /= M.max()
        method = 'sinkhorn_log' if prm['log'] else 'sinkhorn'
        it = int(prm['iterations'])
        run = lambda: ot.sinkhorn2(a, b, M, prm['reg'], method=method, numItermax=it, stopThr=0)
        res['cost'] = float(run())  # warm-up
        times, _ = timed(run, reps)
    elif kind == 'barycenter':
        A, M, x = f['A'], f['M'], f['x']
        prm = p['params']
        A_cols = np.ascontiguousarray(A.T)  # POT: one histogram per column
        method = 'sinkhorn_log' if prm['log'] else 'sinkhorn'
        it = int(prm['iterations'])
        run = lambda: ot.bregman.barycenter(A_cols, M, prm['reg'], method=method, numItermax=it, stopThr=0)
        res['cost'] = float(np.sum(run() * x ** 2))  # warm-up; the barycenter's second moment
        times, _ = timed(run, reps)
    elif kind == 'convolutional':
        A = f['A']  # k x h x w, POT's layout
        prm = p['params']
        h, w = int(prm['h']), int(prm['w'])
        it = int(prm['iterations'])
        run = lambda: ot.bregman.convolutional_barycenter2d(A, prm['reg'], numItermax=it, stopThr=0)
        r2 = np.linspace(0, 1, h)[:, None] ** 2 + np.linspace(0, 1, w)[None, :] ** 2
        res['cost'] = float(np.sum(run() * r2))  # warm-up
        times, _ = timed(run, reps)
    else:
        raise ValueError(f'unknown problem kind {kind}')
    res['times'] = times
    res['ms'] = statistics.median(times)
    return res


def main():
    manifest_path = sys.argv[1]
    base = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as fh:
        manifest = json.load(fh)
    malloc = {k: v for k, v in os.environ.items() if k.startswith('MALLOC_')}
    tag = 'tuned malloc' if malloc else 'default env'
    out = {'pot': ot.__version__, 'numpy': np.__version__, 'malloc': malloc, 'results': {}}
    for p in manifest['problems']:
        if not p.get('pot', True):
            continue
        t0 = time.perf_counter()
        r = run_problem(p, base)
        out['results'][p['id']] = r
        log(f'  POT ({tag}) {p["id"]}: median {r["ms"]:.2f} ms over {len(r["times"])} runs '
            f'({time.perf_counter() - t0:.1f} s total)')
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
