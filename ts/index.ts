// The public API (names are a contract: see DESIGN.md). Every solver call is async.
export { OTError, type OTErrorCode } from './errors.js';
export type { VectorLike, Matrix, MatrixLike, DenseMatrix, BackendName, BackendOption } from './types.js';
export { type CostSpec } from './costs.js';
export {
  costMatrix,
  pointCloud,
  grid,
  CostMatrixGeometry,
  PointCloudGeometry,
  GridGeometry,
  type GridOptions,
  type Geometry,
  type CostInput,
} from './geometry.js';
export { Coupling, SparseCoupling, DenseCoupling, LazyCoupling } from './coupling.js';
export { Rng, randomDirections } from './rng.js';
export { releaseWasmMemory, setWasmSource, type WasmSource } from './backends/wasm.js';
export { setWasmThreadsSource, wasmThreadsUnavailableReason } from './backends/wasm-threads.js';
export { backends, type BackendReport } from './backends/report.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MASS_TOLERANCE } from './validate.js';
// The solvers (ts/solvers/index.ts is the registry): every call is async, checks its options against the
// solver's schema before any work, and takes { worker?: 'auto' | boolean } (ts/registry/define.ts).
export * from './solvers/index.js';
// Domain adaptation (ts/da/): estimators with fit / transform / inverseTransform, POT's ot.da classes.
export * from './da/index.js';
export { dispose } from './worker/pool.js';
export type { OTResult, SolveStatus } from './result.js';
export type { WorkerOptions } from './registry/define.js';
export { setGpuProvider, type GpuProvider } from './backends/webgpu.js';
// Neural OT (ts/neural/): the trainers by name; tensors, models, engines, samplers and evaluation under `neural`,
// so the generic tensor op names (add, sum, exp, …) stay out of the root.
/**
 * Neural optimal transport: tensors with reverse-mode autodiff to any order (`Tensor`, `grad`, `tidy`) over a js
 * (f64) or a WebGPU (f32) engine, Adam, MLP and input-convex (ICNN) models with JSON save/load, seeded samplers,
 * the Gaussian closed forms (Bures–Wasserstein) and map evaluation (L2-UVP, exact sample W2), the trainers
 * (`trainICNNMap`, `trainNOT`, `trainKantorovichRubinsteinCritic`, also at the root) and OT losses as tensor ops
 * (`sinkhornLoss`, `entropicOTLoss`, `emdLoss`, `slicedLoss`; GeomLoss's SamplesLoss and POT's `ot.emd2` /
 * `ot.sliced_wasserstein_distance` as differentiable values).
 */
export * as neural from './neural/index.js';
export { workersUnavailableReason } from './worker/pool.js';
// Types that appear in public signatures (pointCloud's options, a geometry's normalized cost, a lazy plan's cost
// rows, the barycenters' backend option), exported so the API reference can show and link them.
export type { Cost } from './costs.js';
export type { CostRows } from './coupling.js';
export type { PointCloudOptions } from './geometry.js';
export type { BarycenterBackend } from './solvers/barycenter.js';
