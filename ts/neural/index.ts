// The CPU neural-OT engine (issue 5, part 1): tensors + autodiff with double backward (tensor.ts), Adam (optim.ts),
// seeded initialisation (init.ts), MLP and ICNN models with JSON save/load (models.ts), finite-difference checks
// (gradcheck.ts). Not yet re-exported from the package root: the WebGPU engine and the solvers come next.
export * from './tensor.js';
export { Adam, type AdamOptions } from './optim.js';
export { kaimingUniform, linearInit, uniformInit } from './init.js';
export { ICNN, MLP, activate, type Activation, type ICNNConfig, type ICNNOptions, type MLPConfig, type MLPOptions, type SavedModel, type SavedParam } from './models.js';
export { gradCheck, hvp, maxScaledError, numericGrad } from './gradcheck.js';
export * from './samplers.js';
export * from './gaussian.js';
export * from './evaluate.js';
export { trainICNNMap, gaussianBatchSampler, drawBatch, type BatchSampler, type ICNNMapOptions, type ICNNMapProgress, type ICNNMapResult } from './icnn-map.js';
export { trainNOT, type NOTOptions, type NOTProgress, type NOTResult, type NOTSampler } from './not.js';
export { trainKantorovichRubinsteinCritic, type CriticOptions, type CriticProgress, type CriticResult } from './critic.js';
