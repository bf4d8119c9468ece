// The shared-memory build (build/kantorovich-mt.wasm, asconfig target "threads"): the entropic engine whose row
// passes several instances run at once on one shared memory (ts/backends/wasm-threads.ts). Only the calling
// thread's instance allocates; helper instances run `entRows` on row ranges and never allocate.
export { alloc, free } from './memory';
export { entIterate, entMarginalError, entStats, entPlanApply, entDensePlan, entRows, entFColLse, entFColLseBatch, entBatch, ENT_SLOTS } from './sinkhorn';
export { streamPass } from './stream';
export { tensorMatmulShares } from './tensor';
