// Deep domain adaptation with minibatch unbalanced OT (JUMBOT, Fatras et al. 2021; DeepJDOT, Damodaran et al.
// 2018), the training code shared by `npm run example:da` (examples/deep-da.ts) and its CI test
// (tests/deep-da.test.ts).
//
// Task: two moons with labels (the source), and the same moons rotated by `angle` and shifted (the target), whose
// labels the learner never sees; the target also has a label shift (its classes in proportion 7:3, the source's
// 1:1). A classifier f∘g (g: an MLP to features, f: a linear head) trained on the source alone misclassifies the
// rotated tips of the moons. JUMBOT adds, per step, for a source batch (xs, ys) and a target batch xt:
//   C_ij = α‖g(xs_i) − g(xt_j)‖² + λ_t·CE(ys_i, f(g(xt_j)))       (the joint feature–label cost, in the graph)
//   P    = unbalanced Sinkhorn plan of C (ε, ρ), held fixed         (neural.costMatrixOTLoss)
//   loss = CE(ys, f(g(xs))) + η·⟨P, C⟩
// The unbalanced marginals let the plan leave out source points whose class is rarer in the target, which is
// what makes the label shift harmless.
import { Rng, neural } from 'kantorovich';

const { MLP, Adam, tensor, grad, add, scale, mul, sum, relu, logSoftmax, pairwiseSqDist, costMatrixOTLoss, noGrad } = neural;
type Tensor = InstanceType<typeof neural.Tensor>;

export interface Domain {
  /** n × 2 points, row-major. */
  X: Float64Array;
  /** Labels 0 / 1. */
  y: Int32Array;
}

export interface TaskOptions {
  /** Rotation of the target about the moons' centre, in degrees. Default 40. */
  angle?: number;
  /** Points per domain. Default 400. */
  n?: number;
  seed?: number;
}

/** Two moons: class 0 the upper arc, class 1 the lower; `frac0` of the points in class 0. */
function moons(rng: Rng, n: number, frac0: number): Domain {
  const X = new Float64Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.uniform() < frac0 ? 0 : 1;
    const t = Math.PI * rng.uniform();
    X[2 * i] = c === 0 ? Math.cos(t) : 1 - Math.cos(t);
    X[2 * i + 1] = c === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    X[2 * i] += 0.1 * rng.normal();
    X[2 * i + 1] += 0.1 * rng.normal();
    y[i] = c;
  }
  return { X, y };
}

/** The source (balanced moons) and the target (rotated, shifted, classes 7:3), both centred on the source's centre. */
export function makeTask(opts: TaskOptions = {}): { source: Domain; target: Domain } {
  const rng = new Rng(opts.seed ?? 0);
  const n = opts.n ?? 400;
  const source = moons(rng, n, 0.5);
  const target = moons(rng, n, 0.7);
  const th = ((opts.angle ?? 30) * Math.PI) / 180;
  const [cx, cy] = [0.5, 0.25];
  for (const D of [source, target]) {
    for (let i = 0; i < n; i++) {
      D.X[2 * i] -= cx;
      D.X[2 * i + 1] -= cy;
    }
  }
  for (let i = 0; i < n; i++) {
    const [x, y] = [target.X[2 * i], target.X[2 * i + 1]];
    target.X[2 * i] = Math.cos(th) * x - Math.sin(th) * y + 0.3;
    target.X[2 * i + 1] = Math.sin(th) * x + Math.cos(th) * y + 0.2;
  }
  return { source, target };
}

export interface TrainOptions {
  /** 'source' (cross-entropy on the source only) or 'jumbot'. */
  method: 'source' | 'jumbot';
  /** Adam steps. Default 500. */
  steps?: number;
  /** Points per batch (of each domain). Default 64. */
  batch?: number;
  seed?: number;
  /** Width of the feature MLP's two layers. Default 64. */
  width?: number;
  /** Weights of the JUMBOT cost: α (features), λ_t (labels), η (the OT term); ε and ρ of the unbalanced plan. */
  alpha?: number;
  lambdaT?: number;
  eta?: number;
  reg?: number;
  regM?: number;
}

export interface Classifier {
  g: InstanceType<typeof neural.MLP>;
  f: InstanceType<typeof neural.MLP>;
}

/** Logits of f(g(x)) for an n × 2 tensor. */
export function logits(model: Classifier, x: Tensor): Tensor {
  return model.f.forward(relu(model.g.forward(x)));
}

function oneHot(y: Int32Array, idx: Int32Array): Tensor {
  const out = new Float64Array(idx.length * 2);
  idx.forEach((i, k) => (out[2 * k + y[i]] = 1));
  return tensor(out, [idx.length, 2]);
}

function rows(X: Float64Array, idx: Int32Array): Tensor {
  const out = new Float64Array(idx.length * 2);
  idx.forEach((i, k) => out.set(X.subarray(2 * i, 2 * i + 2), 2 * k));
  return tensor(out, [idx.length, 2]);
}

function batchOf(rng: Rng, n: number, k: number): Int32Array {
  return Int32Array.from({ length: k }, () => Math.floor(rng.uniform() * n));
}

/** Trains f∘g on the source (and, for 'jumbot', the unlabelled target); the same seed gives the same init and batches. */
export async function train(source: Domain, target: Domain, opts: TrainOptions): Promise<Classifier> {
  const seed = opts.seed ?? 0;
  const steps = opts.steps ?? 500;
  const B = opts.batch ?? 64;
  const { alpha = 0.01, lambdaT = 1, eta = 1, reg = 0.1, regM = 0.5, width = 64 } = opts;
  const model: Classifier = {
    g: new MLP([2, width, width], { seed: 2 * seed + 1 }),
    f: new MLP([width, 2], { seed: 2 * seed + 2 }),
  };
  const params = [...model.g.parameters(), ...model.f.parameters()];
  const adam = new Adam(params, { lr: 2e-3 });
  const rng = new Rng(1000 + seed);
  const ns = source.y.length;
  const nt = target.y.length;
  for (let step = 0; step < steps; step++) {
    const is = batchOf(rng, ns, B);
    const it = batchOf(rng, nt, B);
    const Ys = oneHot(source.y, is);
    const fs = relu(model.g.forward(rows(source.X, is)));
    // CE(ys, f(g(xs))), the mean over the batch
    let loss = scale(sum(mul(Ys, logSoftmax(model.f.forward(fs)))), -1 / B);
    if (opts.method === 'jumbot') {
      const ft = relu(model.g.forward(rows(target.X, it)));
      const logpT = logSoftmax(model.f.forward(ft));
      // C_ij = α‖g(xs_i) − g(xt_j)‖² − λ_t Σ_k ys_ik log p_k(xt_j)
      const C = add(scale(pairwiseSqDist(fs, ft), alpha), scale(Ys.matmul(logpT, { transB: true }), -lambdaT));
      loss = add(loss, scale(await costMatrixOTLoss(C, { reg, unbalanced: { regM } }), eta));
    }
    adam.step(grad(loss, params));
  }
  return model;
}

/** Fraction of the domain's points the classifier labels right. */
export function accuracy(model: Classifier, D: Domain): number {
  const n = D.y.length;
  const Z = noGrad(() => logits(model, tensor(D.X, [n, 2]))).data;
  let right = 0;
  for (let i = 0; i < n; i++) if ((Z[2 * i + 1] > Z[2 * i] ? 1 : 0) === D.y[i]) right++;
  return right / n;
}
