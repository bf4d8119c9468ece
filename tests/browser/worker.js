// Module Web Worker of tests/browser/index.html: the library's browser entry, loaded as plain ES modules
// (no bundler), runs the test problem; results go back to the page and from there to the Node test.
import { backends, costMatrix, emd, neural, sinkhorn, sinkhornDivergence, slicedWasserstein, trainICNNMap } from '/dist/bindings/browser.js';

async function adapterInfo() {
  if (typeof navigator === 'undefined' || !navigator.gpu) return { present: false };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { present: true, adapter: null };
  const info = adapter.info ?? {};
  return { present: true, adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description } };
}

async function run(p) {
  const X = p.X;
  const Y = p.Y;
  const a = Float64Array.from(p.a);
  const b = Float64Array.from(p.b);
  const out = { userAgent: navigator.userAgent, inWorker: typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope };
  out.backends = await backends();
  out.gpu = await adapterInfo();
  const M = costMatrix(X, Y);
  const t0 = performance.now();
  const e = await emd(a, b, M);
  out.emd = { cost: e.cost, nnz: e.plan.nnz, status: e.status, backend: e.backend, iterations: e.iterations, u: Array.from(e.potentials.u), ms: performance.now() - t0 };
  const wasmOpts = { ...p.sinkhorn, backend: 'wasm' };
  const t1 = performance.now();
  const sw = await sinkhorn(a, b, M, wasmOpts);
  out.sinkhornWasm = { cost: sw.cost, regCost: sw.regValue, f: Array.from(sw.potentials.f), iterations: sw.iterations, converged: sw.status === 'converged', backend: sw.backend, method: sw.method, ms: performance.now() - t1 };
  // the same solve on two threads: helper module workers sharing the engine's memory (cross-origin isolated page)
  const st = await sinkhorn(a, b, M, { ...wasmOpts, threads: 2 });
  out.sinkhornThreads = { cost: st.cost, threads: st.threads, isolated: self.crossOriginIsolated === true };
  const gpuReport = out.backends.find((r) => r.name === 'webgpu');
  if (gpuReport?.available) {
    const t2 = performance.now();
    try {
      const sg = await sinkhorn(a, b, M, { ...p.sinkhorn, tol: p.gpuTol, backend: 'webgpu' });
      out.sinkhornWebgpu = {
        cost: sg.cost, regCost: sg.regValue, f: Array.from(sg.potentials.f), iterations: sg.iterations, converged: sg.status === 'converged',
        marginalError: sg.error, backend: sg.backend, method: sg.method, ms: performance.now() - t2,
      };
    } catch (err) {
      out.sinkhornWebgpu = { error: `${err?.code ?? ''} ${err?.message ?? err}` };
    }
  }
  if (gpuReport?.available) {
    // the multiscale divergence's WGSL block kernel (gpu/stream.ts) as Chromium compiles it
    try {
      const d = await sinkhornDivergence(X, Y, { a, b, ...p.divergence, strategy: 'multiscale', backend: 'webgpu' });
      out.divergenceWebgpu = { value: d.value, error: d.error, droppedMass: d.droppedMass, status: d.status, backend: d.backend, strategy: d.strategy };
    } catch (err) {
      out.divergenceWebgpu = { failure: `${err?.code ?? ''} ${err?.message ?? err}` };
    }
    try {
      out.neuralWebgpu = await neuralOnGpu(p.neural);
    } catch (err) {
      out.neuralWebgpu = { error: `${err?.code ?? ''} ${err?.message ?? err}` };
    }
  }
  const t3 = performance.now();
  const sl = await slicedWasserstein(X, Y, { a, b, ...p.sliced });
  out.sliced = { value: sl.value, backend: sl.backend, ms: performance.now() - t3 };
  return out;
}

/** The neural tensor engine on the browser's WebGPU: an ICNN's ∇ₓg and Hessian-vector product, and a short training run. */
async function neuralOnGpu(q) {
  const E = await neural.tensorEngine('webgpu');
  const net = new neural.ICNN(q.dim, q.hidden, { activation: 'softplus', quadratic: 0.5, seed: q.seed, engine: E });
  const x = neural.tensor(q.X, [q.n, q.dim], E).requireGrad();
  const g = neural.grad(neural.sum(net.forward(x)), [x], { createGraph: true })[0];
  const hv = neural.grad(neural.sum(neural.mul(g, neural.tensor(q.V, [q.n, q.dim], E))), [x])[0];
  const r = await trainICNNMap(q.P, q.Q, { ...q.train, backend: 'webgpu', worker: false });
  return { g: Array.from(await g.read()), hv: Array.from(await hv.read()), history: r.history };
}

self.onmessage = async (e) => {
  const { id, problem } = e.data;
  try {
    self.postMessage({ id, ok: true, result: await run(problem) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: `${err?.name ?? 'Error'}${err?.code ? ` [${err.code}]` : ''}: ${err?.message ?? err}\n${err?.stack ?? ''}` });
  }
};
