// The kernel side of an entropic barycenter (what a geometry owns): k histograms a_t on n bins, one barycenter
// on m bins, one Gibbs kernel K = exp(−C/ε) shared by all of them. The iteration (ts/barycenter/ibp.ts) only
// calls `step`; backends implement it over a cost matrix or point clouds (one entropic engine per histogram,
// EntropicEngine.fUpdateColLse) or over a grid (separable blurs, ts/barycenter/grid.ts).
//
// Conventions: potentials g_t = ε·log v_t on the barycenter's side; f_t = ε·log u_t on the histograms' side.
import type { BackendName } from '../types.js';

export interface BarycenterKernel {
  readonly backend: BackendName;
  /** Threads that share each pass (wasm), else 1. */
  readonly threads: number;
  /** Histograms, their bins, the barycenter's bins. */
  readonly k: number;
  readonly n: number;
  readonly m: number;
  /**
   * 'scaling' for kernels on stored scalings with POT's 1e-30 floor (the grid's scaling form): the iteration
   * then floors v ⊙ Kᵀu and Kᵀu at 1e-30 as POT's convolutional_barycenter2d does; 'none' everywhere else.
   */
  readonly floor: 'scaling' | 'none';
  setEps(eps: number): Promise<void>;
  /**
   * One Bregman projection on the histograms' side, for every t (G and the result: k × m, row-major):
   * f_t ← ε·(log a_t − LSE_j((G_tj − C_ij)/ε)), then H_tj = LSE_i((f_ti − C_ij)/ε), i.e. log (Kᵀu_t)_j.
   * (Grid scaling form: u_t = a_t / max(1e-30, K v_t).) Non-finite H means the scaling form overflowed.
   * H is the caller's (k × m), written in place: the loop allocates nothing per iteration.
   */
  step(G: Float64Array, H: Float64Array): Promise<void>;
  dispose(): void;
}
