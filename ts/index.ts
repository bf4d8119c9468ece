// The public API (names are a contract: see DESIGN.md). Every solver call is async.
export { OTError, type OTErrorCode } from './errors.js';
export type { VectorLike, Matrix, MatrixLike, DenseMatrix, BackendName } from './types.js';
export { type CostSpec } from './costs.js';
export {
  costMatrix,
  pointCloud,
  CostMatrixGeometry,
  PointCloudGeometry,
  type Geometry,
  type CostInput,
} from './geometry.js';
export { Coupling } from './coupling.js';
export { Rng, randomDirections } from './rng.js';
export { setWasmSource, type WasmSource } from './backends/wasm.js';
export { setWasmThreadsSource, wasmThreadsUnavailableReason } from './backends/wasm-threads.js';
export { backends, type BackendReport, type BackendOption } from './backends/select.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MASS_TOLERANCE } from './validate.js';
// The solvers, wrapped by the facade: each takes { worker?: 'auto' | boolean } (ts/facade.ts).
export {
  emd,
  emd1d,
  wasserstein1d,
  slicedWasserstein,
  maxSlicedWasserstein,
  sinkhorn,
  sinkhornUnbalanced,
  sinkhornDivergence,
  barycenter,
  convolutionalBarycenter,
  freeSupportBarycenter,
  dispose,
  type WorkerOptions,
  type EmdOptions,
  type Emd1dOptions,
  type SlicedOptions,
  type SinkhornOptions,
  type UnbalancedOptions,
  type DivergenceOptions,
  type BarycenterOptions,
  type ConvolutionalOptions,
  type FreeSupportOptions,
} from './facade.js';
export type { EmdResult, EmdStatus } from './solvers/emd.js';
export type { Emd1dResult } from './solvers/ot1d.js';
export type { SlicedResult } from './solvers/sliced.js';
export type { SinkhornResult } from './solvers/sinkhorn.js';
export type { DivergenceResult } from './solvers/divergence.js';
export type { BarycenterResult, FreeSupportResult } from './solvers/barycenter.js';
// Neural OT (ts/neural/): the trainers by name; tensors, models, engines, samplers and evaluation under `neural`,
// so the generic tensor op names (add, sum, exp, …) stay out of the root.
export { trainICNNMap, trainNOT, trainKantorovichRubinsteinCritic } from './neural/index.js';
export * as neural from './neural/index.js';
export { setWorkerPlatform, type WorkerPlatform, type WorkerHandle, poolInternals as workerPoolInternals, workersUnavailableReason } from './worker/pool.js';
export { AUTO_THRESHOLD as WORKER_AUTO_THRESHOLD, workEstimate } from './worker/protocol.js';
