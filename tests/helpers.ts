// Generic test helpers: seeded random data, relative errors, expected OTError codes.
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, backends } from 'kantorovich';

/** n uniforms in [lo, hi). */
export function uniforms(rng: Rng, n: number, lo = 0, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

export function normals(rng: Rng, n: number, mean = 0, sd = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * rng.normal();
  return out;
}

/** Integer in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.uniform() * (hi - lo + 1));
}

/** Random positive weights summing to 1; with `zeros`, about a third of them are exactly 0 (never all). */
export function randomWeights(rng: Rng, n: number, zeros = false): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = zeros && rng.uniform() < 0.33 ? 0 : 0.1 + rng.uniform();
  if (w.every((v) => v === 0)) w[0] = 1;
  let s = 0;
  for (const v of w) s += v;
  for (let i = 0; i < n; i++) w[i] /= s;
  return w;
}

export function relErr(got: number, want: number): number {
  if (got === want) return 0;
  return Math.abs(got - want) / Math.max(Math.abs(want), Number.MIN_VALUE);
}

export function assertClose(got: number, want: number, rel: number, what = ''): void {
  const e = relErr(got, want);
  assert.ok(e <= rel, `${what}: got ${got}, want ${want} (relative error ${e.toExponential(2)} > ${rel})`);
}

/** Await `f` and check it rejects with an OTError of the given code. */
export async function expectOTError(code: string, f: () => Promise<unknown>, what = ''): Promise<void> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `${what}: expected OTError '${code}', but the call succeeded`);
  assert.instance(err, OTError, `${what}: expected an OTError, got ${String(err)}`);
  assert.is((err as OTError).code, code, `${what}: ${(err as Error).message}`);
}

/** |x − ref| ≤ rel·|ref| + abs (false for NaN). */
export function within(x: number, ref: number, rel: number, abs: number): boolean {
  return Math.abs(x - ref) <= rel * Math.abs(ref) + abs;
}

/** Asserts within(...); the message says by how much it missed. */
export function close(x: number, ref: number, rel: number, abs: number, what: string): void {
  if (!within(x, ref, rel, abs)) {
    const err = Math.abs(x - ref);
    const tol = rel * Math.abs(ref) + abs;
    assert.unreachable(`${what}: got ${x}, expected ${ref} (|diff| ${err.toExponential(3)} > tol ${tol.toExponential(3)})`);
  }
}

/** Rows (number[][]) as a row-major { data, rows, cols } matrix. */
export function flat(rows: number[][]): { data: Float64Array; rows: number; cols: number } {
  const r = rows.length;
  const c = rows[0].length;
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[i * c + j] = rows[i][j];
  return { data, rows: r, cols: c };
}

export function maxAbs(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s = Math.max(s, Math.abs(x[i]));
  return s;
}

/** Entry by entry, |got − ref| ≤ rel · max|ref| (false for NaN); reports the worst entry. */
export function closeArrays(got: ArrayLike<number>, ref: ArrayLike<number>, rel: number, what: string): void {
  assert.is(got.length, ref.length, `${what}: length`);
  const tol = rel * maxAbs(ref);
  let worst = 0;
  let err = 0;
  for (let k = 0; k < ref.length; k++) {
    const e = Math.abs(got[k] - ref[k]);
    if (!(e <= err)) {
      err = e;
      worst = k;
    }
  }
  if (!(err <= tol)) {
    assert.unreachable(`${what}: entry ${worst}: got ${got[worst]}, expected ${ref[worst]} (|diff| ${err.toExponential(3)} > ${rel} × max = ${tol.toExponential(3)})`);
  }
}

/** Rejects with "<what>: no answer within …" when `p` has not settled after `ms` (the timer does not keep Node alive). */
export function withTimeout<T>(p: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The WebGPU gate of a test file: `it` is uvu's test where an adapter exists, test.skip elsewhere, after a line
 * saying why it skips; with KANTOROVICH_REQUIRE_WEBGPU=1 a missing adapter is a failing test instead.
 */
/** The Euclidean distance matrix of `size` standard normal points in d dimensions (a GW structure matrix). */
export function normalDistances(rng: Rng, size: number, d: number): { data: Float64Array; rows: number; cols: number } {
  const X = Float64Array.from({ length: size * d }, () => rng.normal());
  const C = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (X[i * d + t] - X[j * d + t]) ** 2;
      C[i * size + j] = Math.sqrt(s);
    }
  }
  return { data: C, rows: size, cols: size };
}

export async function webgpuGate(file: string): Promise<{ it: (name: string, fn: Parameters<typeof test>[1]) => void; available: boolean }> {
  const report = (await backends()).find((b) => b.name === 'webgpu')!;
  if (!report.available) {
    if (process.env.KANTOROVICH_REQUIRE_WEBGPU === '1') {
      test('webgpu is available (KANTOROVICH_REQUIRE_WEBGPU=1)', () => {
        assert.unreachable(`webgpu is unavailable: ${report.reason}`);
      });
    } else {
      console.log(`${file}: SKIPPED, webgpu unavailable (${report.reason}); set KANTOROVICH_REQUIRE_WEBGPU=1 to fail instead.`);
    }
  }
  return { it: report.available ? test : test.skip, available: report.available };
}

/** n = Π shape uniforms in [lo, hi); with awayFromZero > 0, values within it of 0 are pushed out by it. */
export function randomArray(rng: Rng, shape: readonly number[], lo = -1, hi = 1, awayFromZero = 0): Float64Array {
  let n = 1;
  for (const d of shape) n *= d;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * rng.uniform();
    if (awayFromZero > 0 && Math.abs(v) < awayFromZero) v += v < 0 ? -awayFromZero : awayFromZero;
    data[i] = v;
  }
  return data;
}

/**
 * Runs `code` as an ES module in a child Node (with `nodeFlags`), killed after `limitMs`: its exit code and signal,
 * stdout + stderr (Dawn's "artificially reduced" warnings removed), and whether the limit killed it.
 */
export function runChild(code: string, limitMs: number, nodeFlags: string[] = []): Promise<{ code: number | null; signal: string | null; out: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve({ code: c, signal: sig, out: out.replace(/^Warning: .*artificially reduced.*\n/gm, ''), killed });
    });
  });
}
