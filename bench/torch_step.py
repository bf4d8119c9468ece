#!/usr/bin/env python3
"""PyTorch CPU reference for bench/neural.ts --steps: the time of one training step of the two workloads, f64 and
f32, as the TypeScript side runs them (same shapes, same graph, same optimizer; the weights' values do not change
the time). Prints one JSON object: {"torch": version, "threads": n, "mlp": {"f64": {"wall": ms, "cpu": ms}, "f32":
...}, "icnn": {...}}, each the best (minimum) over `reps` steps after `warmup` steps, of the wall time and of the
process CPU time (as bench/neural-step.ts: on a shared machine a step is preempted more often the longer it runs,
while its CPU time counts only the time it ran).

  MLP   [2, 256, 256, 2], relu, batch 1024: loss = mean((net(X) − Y)²); backward; Adam step.
  ICNN  dim 2, hidden [64, 64], softplus, learned quadratic ½‖x·A‖² (models.ts ICNN with quadraticForm), batch 256:
        the g step of trainICNNMap: T = ∇ₓg(X) with create_graph, loss = mean f(T) − mean ⟨X, T⟩, backward to
        g's weights (double backward), Adam step, clamp of g's hidden-to-hidden weights at 0.

Usage: /usr/bin/python3 bench/torch_step.py [reps] [--threads N] (Debian python3-torch; threads as torch defaults
them here unless --threads sets them: bench/neural-step.ts compares its threaded engine with PyTorch on as many).

  bench/torch_step.py --dim 64 --batch 1024 --hidden 128,128 [--device cuda] [--reps 50]   (bench/gpu-step.ts)
        the same two workloads at other sizes (MLP [dim, *hidden, dim]; ICNN [dim, *hidden], both at that batch),
        f32 only, on a device: the mean time of `reps` steps after warm-ups, the device synchronized before and
        after (steps queue asynchronously on a GPU). Prints {"torch", "device", "mlp": ms, "icnn": ms}.
"""
import json
import sys
import time

import torch


def timed(step, warmup, reps):
    """Best wall time and best process CPU time (user + system) of one step, in ms."""
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        cpu.append((time.process_time() - c0) * 1e3)
        wall.append((time.perf_counter() - t0) * 1e3)
    return {"wall": min(wall), "cpu": min(cpu)}


def mlp_step(dtype, dim=2, hidden=(256, 256), batch=1024, device="cpu"):
    torch.manual_seed(0)
    widths = [dim, *hidden, dim]
    layers = []
    for k in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[k], widths[k + 1]).to(dtype))
        if k + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    X = torch.randn(batch, dim, dtype=dtype, device=device)
    Y = torch.randn(batch, dim, dtype=dtype, device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((net(X) - Y) ** 2).mean()
        loss.backward()
        opt.step()

    return step


class ICNN(torch.nn.Module):
    """ts/neural/models.ts ICNN: z1 = σ(x·Wx0 + b0), z_{k+1} = σ(z_k·Wz + x·Wx_k + b_k), out linear, + ½‖x·A‖²."""

    def __init__(self, dim, hidden, dtype):
        super().__init__()
        outs = hidden + [1]
        self.wx = torch.nn.ParameterList([torch.nn.Parameter(torch.empty(dim, o, dtype=dtype).uniform_(-0.5, 0.5)) for o in outs])
        self.b = torch.nn.ParameterList([torch.nn.Parameter(torch.empty(o, dtype=dtype).uniform_(-0.5, 0.5)) for o in outs])
        self.wz = torch.nn.ParameterList([torch.nn.Parameter(torch.empty(hidden[k - 1], outs[k], dtype=dtype).uniform_(0, 0.1)) for k in range(1, len(outs))])
        self.A = torch.nn.Parameter(torch.eye(dim, dtype=dtype))

    def forward(self, x):
        sp = torch.nn.functional.softplus
        z = sp(x @ self.wx[0] + self.b[0])
        L = len(self.wz)
        for k in range(1, L + 1):
            pre = z @ self.wz[k - 1] + (x @ self.wx[k] + self.b[k])
            z = sp(pre) if k < L else pre
        return z + 0.5 * ((x @ self.A) ** 2).sum(1, keepdim=True)


def icnn_step(dtype, dim=2, hidden=(64, 64), batch=256, device="cpu"):
    torch.manual_seed(0)
    g = ICNN(dim, list(hidden), dtype).to(device)
    f = ICNN(dim, list(hidden), dtype).to(device)
    opt = torch.optim.Adam(g.parameters(), lr=3e-3, betas=(0.5, 0.99))
    X = torch.randn(batch, dim, dtype=dtype, device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        x = X.detach().requires_grad_(True)
        T = torch.autograd.grad(g(x).sum(), x, create_graph=True)[0]
        loss = f(T).mean() - (X * T).sum(1).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for w in g.wz:
                w.clamp_(min=0)

    return step


def flag(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def sized():
    """The --dim mode: f32 steps at the given sizes on --device, mean ms per step (device synchronized)."""
    device = flag("--device", "cuda" if torch.cuda.is_available() else "cpu")
    dim, batch, reps = int(flag("--dim", "64")), int(flag("--batch", "1024")), int(flag("--reps", "50"))
    hidden = tuple(int(w) for w in flag("--hidden", "128,128").split(","))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"}
    for name, make in (("mlp", mlp_step), ("icnn", icnn_step)):
        step = make(torch.float32, dim, hidden, batch, device)
        for _ in range(10):
            step()
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            step()
        sync()
        out[name] = (time.perf_counter() - t0) * 1e3 / reps
    print(json.dumps(out))


def main():
    if "--dim" in sys.argv:
        return sized()
    if "--threads" in sys.argv:
        torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    reps = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else 50
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, make in (("mlp", mlp_step), ("icnn", icnn_step)):
        out[name] = {}
        for label, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            out[name][label] = timed(make(dtype), 5, reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
