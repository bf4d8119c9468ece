#!/usr/bin/python3
"""POT side of bench/batch.ts (see there for the problems):

    /usr/bin/python3 bench/pot_batch.py .bench-tmp/batch/manifest.json

POT 0.8.2 has no ot.batch: the B problems are solved by ot.sinkhorn2 in a Python loop (what a POT user of that
version writes). One untimed warm-up problem, then the median of `reps` timed loops. Prints {"pot": version,
"results": {id: {"ms", "times", "value"}}} on stdout, value = the sum of the B values."""
import json
import os
import statistics
import sys
import time

import numpy as np
import ot


def main():
    path = sys.argv[1]
    base = os.path.dirname(path)
    manifest = json.load(open(path))
    results = {}
    for p in manifest['problems']:
        entry = p['files']['costs']
        C = np.fromfile(os.path.join(base, entry['path']), dtype='<f8').reshape(entry['shape'])
        B, n, m = C.shape
        a = np.full(n, 1.0 / n)
        b = np.full(m, 1.0 / m)
        reg = p['params']['reg']
        it = int(p['params']['maxIter'])

        def run():
            return sum(float(ot.sinkhorn2(a, b, C[q], reg, numItermax=it, stopThr=0)) for q in range(B))

        ot.sinkhorn2(a, b, C[0], reg, numItermax=it, stopThr=0)
        times = []
        value = 0.0
        for _ in range(p['reps']):
            t0 = time.perf_counter()
            value = run()
            times.append((time.perf_counter() - t0) * 1000)
            print(f"{p['id']}: {times[-1]:.0f} ms", file=sys.stderr)
        results[p['id']] = {'ms': statistics.median(times), 'times': times, 'value': value}
    print(json.dumps({'pot': ot.__version__, 'results': results}))


main()
