// WGSL sources of the entropic engine, generated per problem (the point dimension, the cost power and the
// tile size are compile-time constants, so the inner loops unroll and workgroup arrays get static sizes).
//
// −∞ convention. WGSL has no infinity literal and lets implementations assume that no infinities or NaNs
// occur, so −∞ (the potential of a zero weight, log 0) is the finite sentinel NEG = −3e38 and anything
// ≤ NEG_T = −1e38 is read as −∞. Every kernel tests for the sentinel with `select` before doing arithmetic
// with it, so no overflow result is ever used; the TypeScript side maps the sentinel back to −Infinity.

export const NEG = -3.0e38;
export const NEG_T = -1.0e38;

/** How a binding is declared: uniform params, read-only storage, or read-write storage. */
export type Access = 'uniform' | 'read' | 'rw';
export interface KernelSource {
  code: string;
  /** Bindings in @binding order; the engine builds the explicit layout and bind groups from these names. */
  bindings: { name: string; access: Access; type: string }[];
  workgroupSize: number;
}

/**
 * The cost side as the kernels see it: a dense matrix read with strides (so one buffer serves rows and
 * columns), or two point clouds with the cost recomputed on the fly. `tile` = number of "other side" points
 * staged in workgroup memory per step (0: read them from global memory; used when d is too large).
 */
export type KernelGeometry = { kind: 'dense' } | { kind: 'points'; d: number; power: number; tile: number };

/** Uniform block shared by all kernels: out index t < nOut, reduced index k < nIn, matrix entry mat[t*sOut + k*sIn]. */
const PARAMS = `struct Params { nOut: u32, nIn: u32, sOut: u32, sIn: u32, invEps: f32, eps: f32, tau: f32, kq: u32 }
const NEG: f32 = ${lit(NEG)};
const NEG_T: f32 = ${lit(NEG_T)};
const MAXF: f32 = 3.0e38;`;

/** A WGSL f32 literal. */
export function lit(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e15 ? `${x}.0` : x.toPrecision(9);
}

export function declare(bindings: KernelSource['bindings']): string {
  return bindings
    .map((b, i) => {
      const space = b.access === 'uniform' ? 'uniform' : b.access === 'read' ? 'storage, read' : 'storage, read_write';
      return `@group(0) @binding(${i}) var<${space}> ${b.name}: ${b.type};`;
    })
    .join('\n');
}

export const F32 = 'array<f32>';

/** Global thread index over a 2D grid of workgroups (x is capped at 65535 workgroups per dimension). */
export const MAIN = (wg: number) => `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * ${wg}u + lid;`;

/** ‖x − y‖^p from the squared distance s: the WGSL definition of the cost (ts/costs.ts is the reference). */
export function powerOf(power: number): string {
  if (power === 2) return 'return s;';
  if (power === 1) return 'return sqrt(s);';
  return `return select(pow(s, ${lit(power / 2)}), 0.0, s <= 0.0);`;
}

/** What a reduction kernel does per term: `step` sees c (cost), pk (other-side potential), k; `finish` runs for live t. */
interface Body {
  bindings: KernelSource['bindings'];
  init: string;
  step: string;
  finish: string;
}

/**
 * One thread per output index t, reducing over every k of the other side: the skeleton of every n × m pass.
 * Points: the thread keeps its own point in registers and the workgroup stages tiles of the other cloud (and
 * its potential) in workgroup memory — the KeOps scheme, never storing n × m.
 */
function reduction(geom: KernelGeometry, wg: number, body: Body): KernelSource {
  const bindings: KernelSource['bindings'] = [{ name: 'P', access: 'uniform', type: 'Params' }];
  if (geom.kind === 'dense') bindings.push({ name: 'mat', access: 'read', type: F32 });
  else bindings.push({ name: 'ptsOut', access: 'read', type: F32 }, { name: 'ptsIn', access: 'read', type: F32 });
  bindings.push({ name: 'pin', access: 'read', type: F32 }, ...body.bindings);
  const head = `${PARAMS}\n${declare(bindings)}\n`;
  if (geom.kind === 'dense') {
    return {
      bindings,
      workgroupSize: wg,
      code: `${head}
${MAIN(wg)}
  if (t >= P.nOut) { return; }
  ${body.init}
  for (var k = 0u; k < P.nIn; k++) {
    let c = mat[t * P.sOut + k * P.sIn];
    let pk = pin[k];
    ${body.step}
  }
  ${body.finish}
}`,
    };
  }
  const D = geom.d;
  const T = geom.tile;
  const own = `var xo: array<f32, ${D}>;
  if (live) { for (var r = 0u; r < ${D}u; r++) { xo[r] = ptsOut[t * ${D}u + r]; } }`;
  const dist = (src: string) => `var s = 0.0;
      for (var r = 0u; r < ${D}u; r++) { let df = xo[r] - ${src}; s += df * df; }
      let c = cost(s);`;
  const loop =
    T > 0
      ? // Every thread reaches both barriers (the loop bounds are uniform); only live threads accumulate.
        `for (var base = 0u; base < P.nIn; base += ${T}u) {
    let cnt = min(${T}u, P.nIn - base);
    for (var e = lid; e < cnt * ${D}u; e += ${wg}u) { tileX[e] = ptsIn[base * ${D}u + e]; }
    for (var e = lid; e < cnt; e += ${wg}u) { tileP[e] = pin[base + e]; }
    workgroupBarrier();
    if (live) {
      for (var kk = 0u; kk < cnt; kk++) {
        let k = base + kk;
        ${dist(`tileX[kk * ${D}u + r]`)}
        let pk = tileP[kk];
        ${body.step}
      }
    }
    workgroupBarrier();
  }`
      : `if (live) {
    for (var k = 0u; k < P.nIn; k++) {
      ${dist(`ptsIn[k * ${D}u + r]`)}
      let pk = pin[k];
      ${body.step}
    }
  }`;
  return {
    bindings,
    workgroupSize: wg,
    code: `${head}
${T > 0 ? `var<workgroup> tileX: array<f32, ${T * D}>;\nvar<workgroup> tileP: array<f32, ${T}>;` : ''}
fn cost(s: f32) -> f32 { ${powerOf(geom.power)} }
${MAIN(wg)}
  let live = t < P.nOut;
  ${own}
  ${body.init}
  ${loop}
  if (live) {
    ${body.finish}
  }
}`,
  };
}

/** P_tk from the own potential po, the other potential pk and the cost c; zero where either potential is −∞. */
const PLAN = 'select(exp((po + pk - c) * P.invEps), 0.0, po <= NEG_T || pk <= NEG_T)';
const OWN = `var po = NEG;
  if (t < P.nOut) { po = pown[t]; }`;

/**
 * Log-domain half iteration: out_t = τ·ε·(logw_t − LSE_k((pin_k − c_tk)/ε)). The LSE is online (running max
 * and rescaled sum) with one exp per term: exp(−|x − mx|) is the new term when x ≤ mx, and the factor that
 * rescales the old sum when x > mx. −∞ terms enter as NEG and vanish at the first finite term.
 */
/**
 * The online log-sum-exp of every WGSL kernel here: LSE_INIT declares mx, sm; lseAdd(x) takes one term (NEG for
 * −∞); the result is mx + log(sm) (NEG when every term was).
 */
export const LSE_INIT = 'var mx = NEG;\n  var sm = 0.0;';
export const lseAdd = (x: string) => `let e = exp(-abs(${x} - mx));
        sm = select(sm + e, sm * e + 1.0, ${x} > mx);
        mx = max(mx, ${x});`;

export function lseUpdate(geom: KernelGeometry, wg: number): KernelSource {
  return reduction(geom, wg, {
    bindings: [
      { name: 'logw', access: 'read', type: F32 },
      { name: 'pout', access: 'rw', type: F32 },
    ],
    init: LSE_INIT,
    step: `let x = select((pk - c) * P.invEps, NEG, pk <= NEG_T);
        ${lseAdd('x')}`,
    finish: `let lw = logw[t];
    pout[t] = select(P.tau * P.eps * (lw - (mx + log(sm))), NEG, lw <= NEG_T);`,
  });
}

/** Scaling half iteration on a stored kernel K (as `mat`): out_t = (w_t / Σ_k K_tk pin_k)^τ, 0 where w_t = 0. */
export function scalingUpdate(wg: number): KernelSource {
  return reduction({ kind: 'dense' }, wg, {
    bindings: [
      { name: 'w', access: 'read', type: F32 },
      { name: 'pout', access: 'rw', type: F32 },
    ],
    init: 'var sm = 0.0;',
    step: 'sm += c * pk;',
    // Kv = 0 (the kernel underflowed: ε too small for this method) caps u at MAXF instead of dividing by 0.
    finish: `let wt = w[t];
  var u = select(MAXF, min(wt / sm, MAXF), sm > 0.0);
  if (P.tau != 1.0) { u = pow(u, P.tau); }
  pout[t] = select(u, 0.0, wt <= 0.0);`,
  });
}

/** Row (or column) sums of P and of P∘C, into sums and csums. */
export function planSums(geom: KernelGeometry, wg: number): KernelSource {
  return reduction(geom, wg, {
    bindings: [
      { name: 'pown', access: 'read', type: F32 },
      { name: 'sums', access: 'rw', type: F32 },
      { name: 'csums', access: 'rw', type: F32 },
    ],
    init: `${OWN}\n  var sm = 0.0;\n  var sc = 0.0;`,
    step: `let p = ${PLAN};
        sm += p;
        sc += p * c;`,
    finish: 'sums[t] = sm;\n    csums[t] = sc;',
  });
}

/** out = P·V for V with kq vec4 columns per row (zero-padded); workgroup_id.z picks the vec4 column. */
export function planApply(geom: KernelGeometry, wg: number): KernelSource {
  return reduction(geom, wg, {
    bindings: [
      { name: 'pown', access: 'read', type: F32 },
      { name: 'vin', access: 'read', type: 'array<vec4f>' },
      { name: 'vout', access: 'rw', type: 'array<vec4f>' },
    ],
    init: `${OWN}\n  let q = wid.z;\n  var acc = vec4f(0.0);`,
    step: `acc += ${PLAN} * vin[k * P.kq + q];`,
    finish: 'vout[t * P.kq + q] = acc;',
  });
}

/** The dense plan, one row per thread (rare call: no effort spent on coalescing the writes). */
export function planDense(geom: KernelGeometry, wg: number): KernelSource {
  return reduction(geom, wg, {
    bindings: [
      { name: 'pown', access: 'read', type: F32 },
      { name: 'plan', access: 'rw', type: F32 },
    ],
    init: OWN,
    step: `plan[t * P.nIn + k] = ${PLAN};`,
    finish: '',
  });
}

/** Σ_t |x_t − w_t| by one workgroup (tree reduction), into res[0]. */
export function absDiffSum(): KernelSource {
  const bindings: KernelSource['bindings'] = [
    { name: 'P', access: 'uniform', type: 'Params' },
    { name: 'x', access: 'read', type: F32 },
    { name: 'w', access: 'read', type: F32 },
    { name: 'res', access: 'rw', type: F32 },
  ];
  return {
    bindings,
    workgroupSize: 256,
    code: `${PARAMS}\n${declare(bindings)}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < P.nOut; i += 256u) { s += abs(x[i] - w[i]); }
  red[lid] = s;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u) { res[0] = red[0]; }
}`,
  };
}

/**
 * Elementwise maps over P.nOut entries: 'kernel' K = exp(−C/ε); 'toPot' f = ε·log u (0 → NEG);
 * 'toScal' u = exp(f/ε) (NEG → 0; the exponent is capped below f32 overflow).
 */
export function elementwise(op: 'kernel' | 'toPot' | 'toScal', wg: number): KernelSource {
  const bindings: KernelSource['bindings'] = [
    { name: 'P', access: 'uniform', type: 'Params' },
    { name: 'src', access: 'read', type: F32 },
    { name: 'dst', access: 'rw', type: F32 },
  ];
  const expr = {
    kernel: 'exp(-src[t] * P.invEps)',
    toPot: 'select(P.eps * log(src[t]), NEG, src[t] <= 0.0)',
    toScal: 'select(exp(min(src[t] * P.invEps, 88.0)), 0.0, src[t] <= NEG_T)',
  }[op];
  return {
    bindings,
    workgroupSize: wg,
    code: `${PARAMS}\n${declare(bindings)}
${MAIN(wg)}
  if (t < P.nOut) { dst[t] = ${expr}; }
}`,
  };
}

/** The dense n × m cost matrix of two clouds (for the scaling method, which needs a stored kernel). */
export function pairwiseCost(d: number, power: number, wg: number): KernelSource {
  const bindings: KernelSource['bindings'] = [
    { name: 'P', access: 'uniform', type: 'Params' },
    { name: 'ptsOut', access: 'read', type: F32 },
    { name: 'ptsIn', access: 'read', type: F32 },
    { name: 'dst', access: 'rw', type: F32 },
  ];
  return {
    bindings,
    workgroupSize: wg,
    code: `${PARAMS}\n${declare(bindings)}
fn cost(s: f32) -> f32 { ${powerOf(power)} }
${MAIN(wg)}
  if (t >= P.nOut * P.nIn) { return; }
  let i = t / P.nIn;
  let j = t % P.nIn;
  var s = 0.0;
  for (var r = 0u; r < ${d}u; r++) { let df = ptsOut[i * ${d}u + r] - ptsIn[j * ${d}u + r]; s += df * df; }
  dst[t] = cost(s);
}`,
  };
}

/** dst = srcᵀ for the n × m matrix src (params: nOut = n, nIn = m). */
export function transpose(wg: number): KernelSource {
  const bindings: KernelSource['bindings'] = [
    { name: 'P', access: 'uniform', type: 'Params' },
    { name: 'src', access: 'read', type: F32 },
    { name: 'dst', access: 'rw', type: F32 },
  ];
  return {
    bindings,
    workgroupSize: wg,
    code: `${PARAMS}\n${declare(bindings)}
${MAIN(wg)}
  if (t >= P.nOut * P.nIn) { return; }
  dst[(t % P.nIn) * P.nOut + t / P.nIn] = src[t];
}`,
  };
}
