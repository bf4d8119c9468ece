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
export { backends, type BackendReport, type BackendOption } from './backends/select.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MASS_TOLERANCE } from './validate.js';
export { emd, type EmdOptions, type EmdResult, type EmdStatus } from './solvers/emd.js';
export { emd1d, wasserstein1d, type Emd1dOptions, type Emd1dResult } from './solvers/ot1d.js';
export { slicedWasserstein, maxSlicedWasserstein, type SlicedOptions, type SlicedResult } from './solvers/sliced.js';
export { sinkhorn, sinkhornUnbalanced, type SinkhornOptions, type SinkhornResult, type UnbalancedOptions } from './solvers/sinkhorn.js';
export { sinkhornDivergence, type DivergenceOptions, type DivergenceResult } from './solvers/divergence.js';
export {
  barycenter,
  convolutionalBarycenter,
  freeSupportBarycenter,
  type BarycenterOptions,
  type BarycenterResult,
  type ConvolutionalOptions,
  type FreeSupportOptions,
  type FreeSupportResult,
} from './solvers/barycenter.js';
