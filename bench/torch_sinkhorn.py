#!/usr/bin/python3
"""PyTorch side of bench/losses.ts (see there): the Sinkhorn divergence S_eps(X, Y) forward + backward as GeomLoss's
"tensorized" backend computes it, on the inputs bench/losses.ts wrote:

    /usr/bin/python3 bench/torch_sinkhorn.py .bench-tmp/losses/manifest.json

Dense n x m costs |x - y|^2, log-domain updates with torch.logsumexp under no_grad for `iters` - 1 iterations, then
one last update with autograd on (GeomLoss's last_extrapolation, which makes the gradient the envelope gradient), then
S = <a, f_ab - f_aa> + <b, g_ab - g_bb> and backward w.r.t. X. Alternating updates per OT term (GeomLoss's are
symmetric; same work per iteration). Times forward + backward (one untimed warm-up, median of reps) in f64 and f32;
prints {"results": {id: {"ms", "value", "threads"}}} on stdout."""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch


def load(entry, base):
    return np.fromfile(os.path.join(base, entry['path']), dtype='<f8').reshape(entry['shape'])


def sqdist(x, y):
    return (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T


def ot_eps(x, y, eps, iters):
    """OT_eps(a, b) for uniform weights: iters - 1 no-grad updates, then one differentiable update (iters in all)."""
    n, m = x.shape[0], y.shape[0]
    loga = torch.full((n,), -math.log(n), dtype=x.dtype)
    logb = torch.full((m,), -math.log(m), dtype=x.dtype)
    with torch.no_grad():
        C = sqdist(x, y)
        f = torch.zeros(n, dtype=x.dtype)
        g = torch.zeros(m, dtype=x.dtype)
        for _ in range(iters - 1):
            f = -eps * torch.logsumexp((g[None, :] - C) / eps + logb[None, :], dim=1)
            g = -eps * torch.logsumexp((f[:, None] - C) / eps + loga[:, None], dim=0)
    C = sqdist(x, y)
    f = -eps * torch.logsumexp((g[None, :] - C) / eps + logb[None, :], dim=1)
    g = -eps * torch.logsumexp((f.detach()[:, None] - C) / eps + loga[:, None], dim=0)
    return f.sum() / n + g.sum() / m


def divergence(X, Y, eps, iters):
    x = X.clone().requires_grad_(True)
    S = ot_eps(x, Y, eps, iters) - 0.5 * ot_eps(x, x, eps, iters) - 0.5 * ot_eps(Y, Y, eps, iters)
    S.backward()
    assert torch.isfinite(x.grad).all()
    return float(S)


def main():
    manifest_path = sys.argv[1]
    base = os.path.dirname(manifest_path)
    manifest = json.load(open(manifest_path))
    results = {}
    for p in manifest['problems']:
        f = {k: load(v, base) for k, v in p['files'].items()}
        prm = p['params']
        # as many threads as our wasm solver used, unless TORCH_THREADS says otherwise
        torch.set_num_threads(int(os.environ.get('TORCH_THREADS', prm.get('threads', 1))))
        for dtype, tag in ((torch.float64, 'f64'), (torch.float32, 'f32')):
            X = torch.tensor(f['X'], dtype=dtype)
            Y = torch.tensor(f['Y'], dtype=dtype)
            value = divergence(X, Y, prm['reg'], int(prm['iters']))  # also the warm-up
            times = []
            for _ in range(p['reps']):
                t0 = time.perf_counter()
                divergence(X, Y, prm['reg'], int(prm['iters']))
                times.append((time.perf_counter() - t0) * 1000)
            results[f"{p['id']}-{tag}"] = {'ms': statistics.median(times), 'value': value, 'threads': torch.get_num_threads()}
            print(f"torch {tag}: {statistics.median(times):.0f} ms, S = {value}", file=sys.stderr)
    print(json.dumps({'torch': torch.__version__, 'results': results}))


main()
