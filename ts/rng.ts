// The library's one seeded generator, specified exactly so that a seed gives the same numbers in every
// environment and on every backend (projections, minibatches and initializations are drawn here, in TS):
//   state:   xoshiro128** (Blackman & Vigna), four u32 words;
//   seeding: the four words are successive outputs of splitmix32 started at `seed >>> 0`;
//   uniform: the top 27 bits of one draw and the top 26 of the next make a 53-bit double in [0, 1);
//   normal:  Box–Muller on two uniforms, both outputs used in order.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The seeded generator behind every random choice of the library (projections, minibatches,
 * initializations): xoshiro128** seeded by splitmix32, so a seed gives the same numbers in every
 * environment and on every backend.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(seed = 0) {
    const st = { s: seed >>> 0 };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next u32 (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** k directions uniform on the unit sphere of R^d, one per row (k × d, row-major). */
export function randomDirections(k: number, d: number, seed = 0): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(k * d);
  for (let r = 0; r < k; r++) {
    let norm = 0;
    for (let c = 0; c < d; c++) {
      const z = rng.normal();
      out[r * d + c] = z;
      norm += z * z;
    }
    norm = Math.sqrt(norm);
    for (let c = 0; c < d; c++) out[r * d + c] /= norm;
  }
  return out;
}
