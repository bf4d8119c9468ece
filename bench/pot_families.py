#!/usr/bin/python3
"""POT side of bench/families.ts (see there for the problems):

    /usr/bin/python3 bench/pot_families.py .bench-tmp/families/manifest.json

Times only the solver call (one untimed warm-up, median of `reps`), prints {"pot": ..., "results": {id: {"ms",
"times", "value"}}} on stdout; progress on stderr."""
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import scipy.linalg
import ot


def load(entry, base):
    return np.fromfile(os.path.join(base, entry['path']), dtype='<f8').reshape(entry['shape'])


def gaussian_w2(m1, S1, m2, S2):
    # POT 0.9's ot.gaussian.bures_wasserstein_mapping + distance, numpy backend (nx.sqrtm = scipy.linalg.sqrtm)
    Cs12 = np.real(scipy.linalg.sqrtm(S1))
    Cs12inv = np.linalg.inv(Cs12)
    M0 = np.real(scipy.linalg.sqrtm(Cs12 @ S2 @ Cs12))
    A = Cs12inv @ M0 @ Cs12inv
    b = m2 - m1 @ A
    W = np.sum((m1 - m2) ** 2) + np.trace(S1 + S2 - 2 * M0)
    return W, A, b


def solve(p, f):
    kind = p['kind']
    prm = p['params']
    if kind == 'partial-exact':
        a = f['a']
        return lambda: float(np.sum(ot.partial.partial_wasserstein(a, a, f['M'], m=prm['mass'], numItermax=int(1e9)) * f['M']))
    if kind == 'partial-cloud':
        X, Y = f['X'], f['Y']
        M = ot.dist(X, Y)  # untimed, as our clouds' setup
        a = np.ones(X.shape[0]) / X.shape[0]
        return lambda: float(np.sum(ot.partial.partial_wasserstein(a, a, M, m=prm['mass'], numItermax=int(1e9)) * M))
    if kind == 'partial-entropic':
        a = f['a']
        return lambda: float(np.sum(ot.partial.entropic_partial_wasserstein(a, a, f['M'], prm['reg'], m=prm['mass'],
                                                                             numItermax=int(prm['iterations']), stopThr=0) * f['M']))
    if kind in ('gw-cg', 'gw-entropic', 'fgw', 'gw-cg-cloud', 'gw-entropic-cloud'):
        kind = kind.replace('-cloud', '')  # the same call: POT gets the sqeuclidean matrices of the clouds
        n = int(prm['n'])
        a = np.ones(n) / n
        C1, C2 = f['C1'], f['C2']
        if kind == 'gw-cg':
            return lambda: float(ot.gromov.gromov_wasserstein(C1, C2, a, a, 'square_loss', log=True)[1]['gw_dist'])
        if kind == 'gw-entropic':
            return lambda: float(ot.gromov.entropic_gromov_wasserstein(C1, C2, a, a, 'square_loss', prm['reg'],
                                                                       max_iter=int(prm['iterations']), tol=0, log=True)[1]['gw_dist'])
        return lambda: float(ot.gromov.fused_gromov_wasserstein(f['M'], C1, C2, a, a, 'square_loss', alpha=prm['alpha'],
                                                                log=True)[1]['fgw_dist'])
    if kind == 'lp-barycenter':
        A, M = f['A'], f['M']
        K = A.shape[0]
        w = np.ones(K) / K

        def lp(solver):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                q = ot.lp.barycenter(A.T, M, w, solver=solver)
            q = np.maximum(q, 0)
            q /= q.sum()
            return float(sum(w[k] * ot.emd2(q, A[k], M) for k in range(K)))
        if p.get('solver') == 'highs-ipm':
            return lambda: lp('highs-ipm')
        return lambda: lp('interior-point')
    if kind == 'gaussian-w2':
        return lambda: float(gaussian_w2(f['m1'], f['S1'], f['m2'], f['S2'])[0])
    raise ValueError(kind)


def main():
    manifest = sys.argv[1]
    base = os.path.dirname(manifest)
    with open(manifest) as fh:
        problems = json.load(fh)['problems']
    results = {}
    extra = [dict(p, id=p['id'] + '-highs', solver='highs-ipm') for p in problems if p['kind'] == 'lp-barycenter']
    for p in problems + extra:
        if p['kind'] == 'partial-cloud' and not p['params'].get('pot'):
            continue  # too large for POT's dense M here (see bench/families.ts)
        f = {k: load(v, base) for k, v in p['files'].items()}
        fn = solve(p, f)
        if p['kind'] == 'partial-cloud':
            # one timed call (minutes at n = 5000 would double with a warm-up), and the process's peak RSS
            t0 = time.perf_counter()
            value = fn()
            ms = (time.perf_counter() - t0) * 1000.0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            results[p['id']] = {'ms': ms, 'times': [ms], 'value': value, 'rssMB': rss}
            print(f"POT {p['id']}: {ms:.1f} ms (value {value}, peak RSS {rss:.0f} MB)", file=sys.stderr, flush=True)
            continue
        value = fn()
        times = []
        for _ in range(int(p['reps'])):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
        results[p['id']] = {'ms': statistics.median(times), 'times': times, 'value': value}
        print(f"POT {p['id']}: {results[p['id']]['ms']:.1f} ms (value {value})", file=sys.stderr, flush=True)
    print(json.dumps({'pot': ot.__version__, 'numpy': np.__version__, 'results': results}))


if __name__ == '__main__':
    main()
