// Neural OT (issue 5): tensors + autodiff with double backward over two storage engines (tensor.ts; engine.ts the
// seam, js-engine.ts f64, gpu/tensor.ts WebGPU f32, engines.ts picks one by backend name), Adam (optim.ts), seeded
// initialisation (init.ts), MLP and ICNN models with JSON save/load (models.ts), finite-difference checks
// (gradcheck.ts), samplers, the Gaussian closed forms, evaluation, and the trainers. The package root re-exports
// this module as `neural` and the trainers by name (ts/index.ts).
export * from './tensor.js';
export { BINARY_OPS, UNARY_OPS, type AdamHyper, type MatmulFlags, type BinaryOp, type MapOp, type Operand, type TensorBackend, type TensorEngine, type UnaryOp } from './engine.js';
export { jsTensorEngine } from './js-engine.js';
export { tensorEngine, type NeuralBackendOptions, type TensorBackendOption, type TensorPrecision } from './engines.js';
export { WasmTensorEngine, wasmTensorEngine, type WasmPrecision, type WasmStorage } from './wasm-engine.js';
export { WebGpuTensorEngine, webgpuTensorEngine, type GpuStorage } from '../../gpu/tensor.js';
export { Adam, type AdamOptions } from './optim.js';
export { kaimingUniform, linearInit, uniformInit } from './init.js';
export { ACTIVATIONS, ICNN, MLP, Model, activate, celu, type Activation, type ICNNActivation, type ICNNConfig, type ICNNOptions, type MLPConfig, type MLPOptions, type MLPQuadraticForm, type SavedModel, type SavedParam } from './models.js';
export { gradCheck, hvp, maxScaledError, numericGrad, numericGradAsync } from './gradcheck.js';
export * from './samplers.js';
export * from './gaussian.js';
export * from './evaluate.js';
export { conjugateLBFGS, type ConjugateSolution } from './conjugate.js';
export { gaussianBatchSampler, drawBatch, icnnMapResult, type ICNNMapOptions, type ICNNMapProgress, type ICNNMapResult } from './icnn-map.js';
export { notResult, type NOTOptions, type NOTProgress, type NOTResult, type NOTSampler } from './not.js';
export { criticResult, type CriticOptions, type CriticProgress, type CriticResult } from './critic.js';
export { samplerOf, isSamplerSpec, type BatchSampler, type SamplerSpec } from './sampler-spec.js';
// the trainers with the `worker` option (train.ts), as the package root exports them
export { trainICNNMap, trainNOT, trainKantorovichRubinsteinCritic } from './train.js';
// log-sum-exp, softmax, pairwise distances (functional.ts)
export { logSumExp, logSoftmax, softmax, pairwiseSqDist } from './functional.js';
// OT losses as tensor ops (losses.ts): values from the solvers, gradients from their optima
export { sinkhornLoss, entropicOTLoss, emdLoss, slicedLoss, costMatrixOTLoss, wassersteinLabelLoss, type CostMatrixLossOptions, type LabelLossOptions, type EntropicLossOptions, type EmdLossOptions, type SlicedLossOptions, type LossWeights } from './losses.js';
