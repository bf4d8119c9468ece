// The solver registry: one line per solver module. Each public function here carries its descriptor (name,
// option schema, backends, work estimate, run; ts/registry/define.ts). The package root re-exports this file,
// the worker dispatches by name from it (ts/registry/registry.ts), and backends(), the CLI, docs/OPTIONS.md's option
// tables and the registry test walk it. Adding a solver = its module + one line here.
export { emd, type EmdOptions, type EmdResult, type EmdStatus, type EmdStrategy } from './emd.js';
export type { MultiscaleStats } from './emd-multiscale.js';
export { emd1d, wasserstein1d, type Emd1dOptions, type Emd1dResult } from './ot1d.js';
export { slicedWasserstein, maxSlicedWasserstein, type SlicedOptions, type SlicedResult } from './sliced.js';
export { sinkhorn, sinkhornUnbalanced, type SinkhornOptions, type UnbalancedOptions, type SinkhornResult } from './sinkhorn.js';
export { sinkhornDivergence, sinkhornDivergenceBatch, type DivergenceBatchOptions, type DivergenceOptions, type DivergenceResult, type DivergenceGradientResult } from './divergence.js';
export { barycenter, convolutionalBarycenter, freeSupportBarycenter, type BarycenterOptions, type ConvolutionalOptions, type FreeSupportOptions, type BarycenterResult, type FreeSupportResult } from './barycenter.js';
export { trainICNNMap, trainNOT, trainKantorovichRubinsteinCritic } from '../neural/train.js';
export { minibatchOT, type MinibatchOptions, type MinibatchResult } from './minibatch.js';
export { gaussianW2, linearMap, gaussianBarycenter, type Gaussian, type AffineMap, type GaussianW2Options, type GaussianW2Result, type LinearMapOptions, type LinearMapResult, type GaussianBarycenterOptions, type GaussianBarycenterResult } from './gaussian.js';
export { partialWasserstein, type PartialOptions, type PartialResult } from './partial.js';
export { gromovWasserstein, type GromovOptions, type GromovResult, type StructureCloud, type StructureInput } from './gromov.js';
export { weakOT, type WeakOTOptions, type WeakOTResult } from './weak.js';
export { lpBarycenter, type LpBarycenterOptions, type LpBarycenterResult } from './lp-barycenter.js';
export { sinkhornBatch, emdBatch, wasserstein1dBatch, type BatchResult, type SinkhornBatchOptions, type EmdBatchOptions, type Wasserstein1dBatchOptions, type Wasserstein1dBatchResult, type BatchInput, type BatchProblem, type PackedBatch, type CloudPair, type SamplePair, type BatchProgress } from './batch.js';
export { pairwiseDistances, type PairwiseOptions, type PairwiseResult, type Measure } from './pairwise.js';
