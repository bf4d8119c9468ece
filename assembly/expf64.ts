// exp(x) on two f64 lanes at once (wasm SIMD has no transcendental instructions).
//
// x = n·ln2 + r with n = round(x/ln2) and |r| ≤ ln2/2 (Cody–Waite: ln2 split into a 32-bit head, so n·LN2_HI
// is exact, and a tail), e^r = 1 + r + r²·P(r) with P a degree-9 polynomial (near-minimax on the reduced
// interval, Chebyshev fit: truncation ≤ 1.6e-17 relative, i.e. 0.15 ulp), then e^x = e^r·2^n1·2^n2 with
// n1 + n2 = n, both factors normal, so results down in the subnormal range are rounded once and overflow
// gives +∞. Max error measured against Math.exp over [−745, 709.8]: see tests/wasm-entropic.test.ts.
// exp(−∞) = 0, exp(+∞) = +∞, exp(NaN) = NaN.

const LOG2E: f64 = 1.4426950408889634;
const LN2_HI: f64 = 6.93147180369123816490e-1; // 0x3fe62e42fee00000: 32 significant bits
const LN2_LO: f64 = 1.90821492927058770002e-10;
const SHIFT: f64 = 6755399441055744.0; // 0x1.8p52: adding it rounds to an integer held in the low mantissa bits

const C2: f64 = 0.5000000000000001;
const C3: f64 = 0.16666666666666669;
const C4: f64 = 0.041666666666623824;
const C5: f64 = 0.008333333333330039;
const C6: f64 = 0.0013888888917367081;
const C7: f64 = 0.00019841269863171557;
const C8: f64 = 2.4801521057868204e-5;
const C9: f64 = 2.7557268276905696e-6;
const C10: f64 = 2.7620201591031547e-7;
const C11: f64 = 2.5100472505694996e-8;

/** e^x lane-wise (≤ 1 ulp; see the header). */
@inline export function expF64x2(x0: v128): v128 {
  // clamp keeps n inside the exponent range of the two scale factors; NaN passes through pmin/pmax
  // (pmin/pmax are single instructions on x64; min/max need a NaN-propagating sequence)
  const x = f64x2.pmax(f64x2.pmin(x0, f64x2.splat(710.0)), f64x2.splat(-746.0));
  const t = f64x2.add(f64x2.mul(x, f64x2.splat(LOG2E)), f64x2.splat(SHIFT));
  const nf = f64x2.sub(t, f64x2.splat(SHIFT));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(nf, f64x2.splat(LN2_HI))), f64x2.mul(nf, f64x2.splat(LN2_LO)));
  const r2 = f64x2.mul(r, r);
  // P(r) by Estrin on pairs, then Horner in r²
  const p01 = f64x2.add(f64x2.splat(C2), f64x2.mul(r, f64x2.splat(C3)));
  const p23 = f64x2.add(f64x2.splat(C4), f64x2.mul(r, f64x2.splat(C5)));
  const p45 = f64x2.add(f64x2.splat(C6), f64x2.mul(r, f64x2.splat(C7)));
  const p67 = f64x2.add(f64x2.splat(C8), f64x2.mul(r, f64x2.splat(C9)));
  const p89 = f64x2.add(f64x2.splat(C10), f64x2.mul(r, f64x2.splat(C11)));
  let p = f64x2.add(p67, f64x2.mul(r2, p89));
  p = f64x2.add(p45, f64x2.mul(r2, p));
  p = f64x2.add(p23, f64x2.mul(r2, p));
  p = f64x2.add(p01, f64x2.mul(r2, p));
  const er = f64x2.add(f64x2.splat(1.0), f64x2.add(r, f64x2.mul(r2, p)));
  // 2^n as two normal factors 2^n1·2^n2, n1 = floor(n/2), n2 = n − n1, each built from the low bits of
  // n_k + 1023 + SHIFT (exact integers; SHIFT_BITS has zero low 12 bits, so << 52 leaves the biased
  // exponent). No 64-bit arithmetic shift: x64 has none for lanes, V8 emulates it slowly.
  const n1f = f64x2.floor(f64x2.mul(nf, f64x2.splat(0.5)));
  const n2f = f64x2.sub(nf, n1f);
  const s1 = i64x2.shl(f64x2.add(n1f, f64x2.splat(SHIFT + 1023.0)), 52);
  const s2 = i64x2.shl(f64x2.add(n2f, f64x2.splat(SHIFT + 1023.0)), 52);
  return f64x2.mul(f64x2.mul(er, s1), s2);
}

/** Scalar e^x through the same code path (lane 0), for loop tails: keeps every entry bit-identical. */
@inline export function expF64(x: f64): f64 {
  return f64x2.extract_lane(expF64x2(f64x2.splat(x)), 0);
}

/** out[k] = e^{x[k]} for k < len (the vectorised exp, exported for tests and benchmarks). */
export function expArrayF64(xPtr: usize, len: i32, outPtr: usize): void {
  let k = 0;
  for (; k + 2 <= len; k += 2) v128.store(outPtr + (<usize>k << 3), expF64x2(v128.load(xPtr + (<usize>k << 3))));
  if (k < len) store<f64>(outPtr + (<usize>k << 3), expF64(load<f64>(xPtr + (<usize>k << 3))));
}

/** Reference: out[k] = Math.exp(x[k]) (AssemblyScript's scalar exp), for the same benchmarks. */
export function expArrayScalarF64(xPtr: usize, len: i32, outPtr: usize): void {
  for (let k = 0; k < len; k++) store<f64>(outPtr + (<usize>k << 3), Math.exp(load<f64>(xPtr + (<usize>k << 3))));
}
