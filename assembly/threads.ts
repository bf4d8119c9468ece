// The shared-memory build (build/kantorovich-mt.wasm, asconfig target "threads"): the entropic engine whose row
// passes several instances run at once on one shared memory (ts/backends/wasm-threads.ts), and the tensor kernels
// of the threaded tensor engine (ts/neural/wasm-engine.ts), whose large products split their rows the same way.
// Only the calling thread's instance allocates; helper instances run `entRows` on row ranges and never allocate.
export { alloc, free } from './memory';
export { entIterate, entMarginalError, entStats, entPlanApply, entDensePlan, entRows, entFColLse, entFColLseBatch, entBatch, ENT_SLOTS } from './sinkhorn';
export { streamPass } from './stream';
export { tensorBinary, tensorUnary, tensorSumTo, tensorMatmul, tensorMatmulShares, tensorTranspose, tensorCopyBlock, tensorAdam, tensorClampMin } from './tensor';
