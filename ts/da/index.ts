// Domain adaptation (POT's ot.da): estimators with fit / transform / inverseTransform. One module per family;
// base.ts holds what the coupling-based ones share (cost, barycentric map, out-of-sample extension, labels).
export { BaseTransport, type TransportOptions, type TransportSettings, type Solved, type CostNormalization, type FitArgs, type FitData, type SoftLabels } from './base.js';
export { EMDTransport, type EMDTransportOptions } from './emd.js';
export {
  SinkhornTransport,
  type SinkhornTransportOptions,
  SinkhornLpl1Transport,
  type SinkhornLpl1TransportOptions,
  UnbalancedTransport,
  type UnbalancedTransportOptions,
} from './sinkhorn.js';
export { LinearTransport, type LinearTransportOptions } from './linear.js';
export { MappingTransport, type MappingTransportOptions, type MappingTransportResult } from './mapping.js';
