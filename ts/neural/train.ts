// The public neural trainers: each runs its in-process trainer (icnn-map.ts, not.ts, critic.ts), or the same trainer
// in a worker of the pool (ts/worker/) by the `worker` option, as ts/facade.ts does for the solvers.
//
// A call can cross to a worker only when both samplers are specs (sampler-spec.ts: plain data; a function cannot
// cross). 'auto' (default) offloads such a call when workers exist and its work estimate reaches the pool's
// threshold (protocol.ts workEstimate: iterations × batch × updates per iteration × hidden units); true always
// offloads (and rejects with 'invalid-option' when a sampler is a function); false never does. In a worker the
// trainer returns plain data (`*Plain`: saved models, history, numbers), and the calling side rebuilds the same
// result object around js-engine models (icnnMapResult, notResult, criticResult). onProgress and signal work in
// both places (the pool forwards progress and aborts).
import { OTError } from '../errors.js';
import type { WorkerOptions } from '../facade.js';
import { isInWorker, runInWorker, workersAvailable } from '../worker/pool.js';
import { AUTO_THRESHOLD, type SolverName, workEstimate } from '../worker/protocol.js';
import { type CriticOptions, type CriticProgress, type CriticResult, criticResult, trainKantorovichRubinsteinCritic as criticInProcess } from './critic.js';
import { type ICNNMapOptions, type ICNNMapProgress, type ICNNMapResult, icnnMapResult, trainICNNMap as icnnInProcess } from './icnn-map.js';
import { ICNN, type ICNNConfig, MLP, type MLPConfig, type SavedModel } from './models.js';
import { type NOTOptions, type NOTProgress, type NOTResult, type NOTSampler, notResult, trainNOT as notInProcess } from './not.js';
import { type BatchSampler, type SamplerSpec, isSamplerSpec } from './sampler-spec.js';

export interface ICNNMapPlain {
  g: SavedModel<ICNNConfig>;
  f: SavedModel<ICNNConfig>;
  history: ICNNMapProgress[];
  conditionDim: number;
}

export interface NOTPlain {
  T: SavedModel<MLPConfig>;
  f: SavedModel<MLPConfig>;
  zDim: number;
  gamma: number;
  residual: boolean;
  history: NOTProgress[];
}

export interface CriticPlain {
  critic: SavedModel<MLPConfig>;
  w1Estimate: number;
  meanGradNorm: number;
  history: CriticProgress[];
}

/** The trainers as a worker runs them: the in-process trainer, its result as plain data. */
export const PLAIN_TRAINERS = {
  async trainICNNMap(P: SamplerSpec, Q: SamplerSpec, opts: ICNNMapOptions): Promise<ICNNMapPlain> {
    const r = await icnnInProcess(P, Q, opts);
    return { g: r.g.save(), f: r.f.save(), history: r.history, conditionDim: r.conditionDim };
  },
  async trainNOT(P: SamplerSpec, Q: SamplerSpec, opts: NOTOptions): Promise<NOTPlain> {
    const r = await notInProcess(P, Q, opts);
    return { T: r.T.save(), f: r.f.save(), zDim: r.zDim, gamma: r.gamma, residual: r.residual, history: r.history };
  },
  async trainKantorovichRubinsteinCritic(P: SamplerSpec, Q: SamplerSpec, opts: CriticOptions): Promise<CriticPlain> {
    const r = await criticInProcess(P, Q, opts);
    return { critic: r.critic.save(), w1Estimate: r.w1Estimate, meanGradNorm: r.meanGradNorm, history: r.history };
  },
};

type Sampler = BatchSampler | NOTSampler | SamplerSpec;

/** Whether the call goes to a worker (see the header); throws on a bad `worker` option or `true` with functions. */
function offload(trainer: SolverName, P: Sampler, Q: Sampler, opts: WorkerOptions): boolean {
  const where = opts.worker ?? 'auto';
  if (where !== 'auto' && where !== true && where !== false) {
    throw new OTError('invalid-option', `worker must be 'auto', true or false (got ${String(where)}).`);
  }
  if (where === false || isInWorker()) return false;
  const specs = isSamplerSpec(P) && isSamplerSpec(Q);
  if (where === true) {
    if (!specs) throw new OTError('invalid-option', `${trainer}: { worker: true } needs both samplers as specs ({ kind: 'gaussian', ... }); a function cannot cross to a worker.`);
    return true;
  }
  return specs && workersAvailable() && workEstimate(trainer, [P, Q, opts]) >= AUTO_THRESHOLD;
}

async function inWorker<T>(trainer: SolverName, P: Sampler, Q: Sampler, opts: { signal?: AbortSignal; onProgress?: (p: never) => void }): Promise<T> {
  return (await runInWorker(trainer, [P, Q, opts], { signal: opts.signal, onProgress: opts.onProgress as ((p: unknown) => void) | undefined })) as T;
}

/** trainICNNMap (icnn-map.ts) with the `worker` option. */
export async function trainICNNMap(P: BatchSampler | SamplerSpec, Q: BatchSampler | SamplerSpec, opts: ICNNMapOptions & WorkerOptions = {}): Promise<ICNNMapResult> {
  if (!offload('trainICNNMap', P, Q, opts)) return icnnInProcess(P, Q, opts);
  const r = await inWorker<ICNNMapPlain>('trainICNNMap', P, Q, opts);
  return icnnMapResult(ICNN.load(r.g), ICNN.load(r.f), r.history, r.conditionDim);
}

/** trainNOT (not.ts) with the `worker` option. */
export async function trainNOT(P: NOTSampler | SamplerSpec, Q: NOTSampler | SamplerSpec, opts: NOTOptions & WorkerOptions = {}): Promise<NOTResult> {
  if (!offload('trainNOT', P, Q, opts)) return notInProcess(P, Q, opts);
  const r = await inWorker<NOTPlain>('trainNOT', P, Q, opts);
  return notResult(MLP.load(r.T), MLP.load(r.f), { zDim: r.zDim, gamma: r.gamma, residual: r.residual, history: r.history });
}

/** trainKantorovichRubinsteinCritic (critic.ts) with the `worker` option. */
export async function trainKantorovichRubinsteinCritic(P: BatchSampler | SamplerSpec, Q: BatchSampler | SamplerSpec, opts: CriticOptions & WorkerOptions = {}): Promise<CriticResult> {
  if (!offload('trainKantorovichRubinsteinCritic', P, Q, opts)) return criticInProcess(P, Q, opts);
  const r = await inWorker<CriticPlain>('trainKantorovichRubinsteinCritic', P, Q, opts);
  return criticResult(MLP.load(r.critic), { w1Estimate: r.w1Estimate, meanGradNorm: r.meanGradNorm, history: r.history });
}
