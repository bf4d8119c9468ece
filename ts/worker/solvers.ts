// The in-process solver functions a worker runs, by name (the raw ones: inside a worker nothing is offloaded).
import { emd } from '../solvers/emd.js';
import { emd1d, wasserstein1d } from '../solvers/ot1d.js';
import { maxSlicedWasserstein, slicedWasserstein } from '../solvers/sliced.js';
import { sinkhorn, sinkhornUnbalanced } from '../solvers/sinkhorn.js';
import { sinkhornDivergence } from '../solvers/divergence.js';
import { barycenter, convolutionalBarycenter, freeSupportBarycenter } from '../solvers/barycenter.js';
import { PLAIN_TRAINERS } from '../neural/train.js';
import type { SolverName } from './protocol.js';

export const RAW_SOLVERS: Record<SolverName, (...args: never[]) => Promise<unknown>> = {
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
  // the neural trainers return plain data from a worker; ts/neural/train.ts rebuilds the result
  ...PLAIN_TRAINERS,
};
