// The one log-sum-exp of the TypeScript side (the wasm and WGSL kernels carry their own copies, fused
// into their loops, and are tested against this one).

/** Streaming LSE: call add(x) for each term, then value(). Stable for any mix of magnitudes and −∞. */
export class LogSumExp {
  private max = -Infinity;
  private sum = 0;
  add(x: number): void {
    if (x === -Infinity) return;
    if (x <= this.max) {
      this.sum += Math.exp(x - this.max);
    } else {
      this.sum = this.sum * Math.exp(this.max - x) + 1;
      this.max = x;
    }
  }
  value(): number {
    return this.max === -Infinity ? -Infinity : this.max + Math.log(this.sum);
  }
}

/** log Σ_{j<len} exp(x[off + j] + y[j]) (the max first, then the sum: two passes, no rescaling); −∞ when every term is −∞. */
export function lseShifted(x: ArrayLike<number>, off: number, y: ArrayLike<number>, len: number): number {
  let mx = -Infinity;
  for (let j = 0; j < len; j++) {
    const e = x[off + j] + y[j];
    if (e > mx) mx = e;
  }
  if (mx === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < len; j++) s += Math.exp(x[off + j] + y[j] - mx);
  return mx + Math.log(s);
}

/**
 * out[j] = log Σ_i exp(L[i·m + j] + alpha[i]) for a row-major n × m matrix L, in row-major passes (a running max per
 * column, then the sums); rows with alpha = −∞ are skipped.
 */
export function lseColumns(L: Float64Array, alpha: ArrayLike<number>, n: number, m: number, out: Float64Array): void {
  const mx = new Float64Array(m).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const ai = alpha[i];
    if (ai === -Infinity) continue;
    for (let j = 0, off = i * m; j < m; j++) {
      const e = L[off + j] + ai;
      if (e > mx[j]) mx[j] = e;
    }
  }
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const ai = alpha[i];
    if (ai === -Infinity) continue;
    for (let j = 0, off = i * m; j < m; j++) out[j] += Math.exp(L[off + j] + ai - mx[j]);
  }
  for (let j = 0; j < m; j++) out[j] = mx[j] === -Infinity ? -Infinity : mx[j] + Math.log(out[j]);
}
