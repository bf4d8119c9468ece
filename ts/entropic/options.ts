// The option schema of the iteration every Sinkhorn-type solver shares (ts/entropic/problem.ts IterationOptions).
import { anyOf, bool, num, object, opt } from '../registry/schema.js';
import { backendOption, progressOption, signalOption, threadsOption } from '../registry/common.js';

export const iterationSchema = {
  maxIter: opt(num({ integer: true, min: 0 }), 'Iteration cap; an iteration is one f-update and one g-update (POT: numItermax).', '1000'),
  tol: opt(num({ min: 0 }), 'Stop when the convergence measure falls below tol (POT: stopThr).', '1e-9 (f64 engines), 1e-5 (webgpu)'),
  checkEvery: opt(num({ integer: true, min: 1 }), 'Check convergence every k iterations (a GPU read-back each time).', '10'),
  epsScaling: opt(
    anyOf(bool, object({ start: opt(num({ gt: 0 }), 'ε₀, the first ε.', 'the cost scale'), factor: opt(num({ gt: 0, lt: 1 }), 'ε_{k+1}/ε_k.', '0.5') })),
    'ε-scaling: solve a decreasing sequence of ε, each warm-starting the next (true: ε₀ = cost scale, factor ½).',
    'false',
  ),
  threads: threadsOption,
  backend: backendOption(['webgpu', 'wasm', 'js']),
  signal: signalOption,
  onProgress: progressOption('{ iterations, error, eps } at every convergence check'),
};
