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
