// An adapter that lets ../shared/w2bench/w2bench.mjs (which calls a project's trainICNNMap) train other solvers
// and options of this library on the Wasserstein-2 benchmark pairs:
//
//   npm run build
//   node ../shared/w2bench/w2bench.mjs bench/w2bench-adapter --dims 2 --iterations 5000 --batch 256
//
// W2_SOLVER=icnn (default: trainICNNMap) or not (trainNOT with γ = 0 and no noise: a deterministic map; the
// harness's --lr sets both of its learning rates, --hidden is ignored); W2_OPTIONS='{"conjugate":"amortized"}'
// (JSON) adds options to the call. Training sees the harness's samplers only, as with the plain harness.
// The best NOT runs of bench/README ("NOT: 20 T steps per f step and lr 2e-3"), D = 4 to 64:
//   W2_SOLVER=not W2_OPTIONS='{"hiddenT":[256,256],"hiddenF":[256,256],"precision":"f32","emaDecay":0.999,"innerSteps":20}' \
//     node ../shared/w2bench/w2bench.mjs bench/w2bench-adapter --dims 16 --iterations 3300 --batch 256 --lr 2e-3
import { trainICNNMap as icnn, trainNOT } from '../../dist/bindings/node.js';

const solver = process.env.W2_SOLVER ?? 'icnn';
const extra = JSON.parse(process.env.W2_OPTIONS ?? '{}');
if (solver !== 'icnn' && solver !== 'not') throw new Error(`W2_SOLVER must be icnn or not (got ${solver})`);

export async function trainICNNMap(sampleP, sampleQ, opts) {
  if (solver === 'icnn') return icnn(sampleP, sampleQ, { ...opts, ...extra });
  const { hidden: _hidden, lr, lrDecay: _decay, onProgress, ...rest } = opts;
  const result = await trainNOT((n) => sampleP(n), (n) => sampleQ(n), {
    ...rest,
    ...(lr ? { lrT: lr, lrF: lr } : {}),
    ...extra,
    // the harness prints loss and its W2² estimate; NOT has no W2² estimate of its own
    onProgress: (p) => onProgress?.({ step: p.step, loss: p.loss, w2sq: NaN }),
  });
  return { map: (X) => result.map(X), history: result.history };
}
