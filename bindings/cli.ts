#!/usr/bin/env node
// The `kantorovich` command: exact, entropic, sliced and 1D optimal transport between two point clouds read
// from CSV or JSON files. Node-only glue over the public API (./node.js); all numerics are the library's.
//
// Exit codes: 0 success, 2 bad input or usage (printed as `error (<OTError code>): <message>`, no stack),
// 1 unexpected failure.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  OTError,
  backends,
  emd,
  emd1d,
  pointCloud,
  sinkhorn,
  slicedWasserstein,
  wasserstein1d,
  type CostSpec,
  type DenseMatrix,
} from './node.js';

// ---------------------------------------------------------------------------------------------------------
// Arguments

type FlagKind = 'string' | 'number' | 'int' | 'boolean';
interface FlagSpec {
  kind: FlagKind;
  help: string;
  /** Placeholder shown in the help. */
  arg?: string;
  choices?: readonly string[];
}
interface CommandSpec {
  summary: string;
  usage: string;
  /** Number of positional file arguments. */
  files: number;
  flags: Record<string, FlagSpec>;
  more?: string;
}

const INPUT_FLAGS: Record<string, FlagSpec> = {
  'weights-col': {
    kind: 'string',
    arg: 'last|first|N',
    help: 'the column holding the weights (N: 1-based); default uniform',
  },
  normalize: { kind: 'boolean', help: "rescale b's weights to a's total mass instead of failing on unequal masses" },
};
const OUTPUT_FLAGS: Record<string, FlagSpec> = {
  json: { kind: 'boolean', help: 'print one JSON object on stdout instead of the human-readable report' },
  progress: { kind: 'boolean', help: 'always draw the progress bar on stderr (default: on a TTY, for solves over 0.3 s)' },
  'no-progress': { kind: 'boolean', help: 'never draw the progress bar' },
  help: { kind: 'boolean', help: 'show this help' },
};
const BACKEND: FlagSpec = { kind: 'string', arg: 'auto|wasm|js|webgpu', choices: ['auto', 'wasm', 'js', 'webgpu'], help: 'force a backend (default auto)' };
const COST: FlagSpec = { kind: 'string', arg: 'sqeuclidean|euclidean|p=P', help: 'ground cost ‖x − y‖², ‖x − y‖ or ‖x − y‖^P (default sqeuclidean)' };

const COMMANDS: Record<string, CommandSpec> = {
  emd: {
    summary: 'exact optimal transport (network simplex)',
    usage: 'kantorovich emd a.csv b.csv [--cost sqeuclidean|euclidean|p=1.5] [--plan out.csv] [--json]',
    files: 2,
    flags: {
      cost: COST,
      plan: { kind: 'string', arg: 'out.csv', help: 'write the plan as sparse triplets "i,j,mass" (0-based indices)' },
      'max-iter': { kind: 'int', arg: 'N', help: 'pivot limit (status max-iterations when reached)' },
      backend: { ...BACKEND, help: 'emd runs on wasm only' },
      ...INPUT_FLAGS,
      ...OUTPUT_FLAGS,
    },
  },
  sinkhorn: {
    summary: 'entropic optimal transport (Sinkhorn)',
    usage: 'kantorovich sinkhorn a.csv b.csv --reg 0.05 [--method log|scaling|auto] [--max-iter N] [--tol T] [--backend auto|wasm|js|webgpu] [--plan out.csv]',
    files: 2,
    flags: {
      reg: { kind: 'number', arg: 'ε', help: 'entropic regularization, in units of the cost (required)' },
      method: { kind: 'string', arg: 'log|scaling|auto', choices: ['log', 'scaling', 'auto'], help: 'iteration form (default auto)' },
      'max-iter': { kind: 'int', arg: 'N', help: 'iteration cap (default 1000)' },
      tol: { kind: 'number', arg: 'T', help: 'stop when the marginal error < T (default 1e-9; 1e-5 on webgpu)' },
      'eps-scaling': { kind: 'boolean', help: 'anneal ε from the cost scale down to reg (faster at small reg)' },
      backend: BACKEND,
      cost: COST,
      plan: { kind: 'string', arg: 'out.csv', help: 'write the plan: a dense n × m CSV (default) or triplets "i,j,mass"' },
      'plan-format': { kind: 'string', arg: 'dense|triplets', choices: ['dense', 'triplets'], help: 'layout of --plan (default dense)' },
      'plan-threshold': { kind: 'number', arg: 'T', help: 'write triplets with mass > T only (implies --plan-format triplets)' },
      ...INPUT_FLAGS,
      ...OUTPUT_FLAGS,
    },
  },
  sliced: {
    summary: 'sliced Wasserstein distance SW_p',
    usage: 'kantorovich sliced a.csv b.csv [--projections 200] [--seed 1] [--p 2]',
    files: 2,
    flags: {
      projections: { kind: 'int', arg: 'K', help: 'number of random directions (default 50)' },
      seed: { kind: 'int', arg: 'S', help: 'seed of the directions (default 0; same seed, same value anywhere)' },
      p: { kind: 'number', arg: 'P', help: 'order p ≥ 1 (default 2)' },
      backend: { ...BACKEND, arg: 'auto|wasm|js' },
      ...INPUT_FLAGS,
      ...OUTPUT_FLAGS,
    },
  },
  w1d: {
    summary: 'Wasserstein distance W_p between two 1D samples (one number per row)',
    usage: 'kantorovich w1d a.csv b.csv [--p 2] [--plan out.csv]',
    files: 2,
    flags: {
      p: { kind: 'number', arg: 'P', help: 'order p ≥ 1 (default 1)' },
      plan: { kind: 'string', arg: 'out.csv', help: 'write the monotone plan as triplets "i,j,mass"' },
      backend: { ...BACKEND, arg: 'auto|wasm|js' },
      ...INPUT_FLAGS,
      ...OUTPUT_FLAGS,
    },
  },
  backends: {
    summary: 'list the backends available here, and why the others are not',
    usage: 'kantorovich backends [--json]',
    files: 0,
    flags: {
      json: OUTPUT_FLAGS.json,
      help: OUTPUT_FLAGS.help,
    },
  },
};

const INPUT_HELP = `Inputs (a.csv, b.csv; "-" reads stdin):
  CSV   one point per row, numbers separated by commas or whitespace; a first line that is not numeric is
        a header and is skipped; lines starting with # are comments. With --weights-col, that column holds
        the weights (default: uniform).
  JSON  (files ending in .json, or starting with [ or {): an array of rows ([[x, y], ...]) or of numbers
        (1D), or {"points": [[...], ...], "weights": [...]}.`;

function mainHelp(): string {
  const lines = ['kantorovich — optimal transport from the command line', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(9)} ${c.summary}`);
  lines.push('', 'Run `kantorovich <command> --help` for the options of a command; `kantorovich --version` prints the version.', '', INPUT_HELP, '');
  lines.push('Exit codes: 0 ok, 2 bad input or usage ("error (<code>): ..."), 1 unexpected error.');
  return lines.join('\n') + '\n';
}

function commandHelp(name: string): string {
  const c = COMMANDS[name];
  const lines = [`kantorovich ${name} — ${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:'];
  for (const [flag, f] of Object.entries(c.flags)) {
    const left = `  --${flag}${f.kind === 'boolean' ? '' : ` ${f.arg ?? 'X'}`}`;
    lines.push(left.length < 34 ? `${left.padEnd(34)}${f.help}` : `${left}\n${' '.repeat(34)}${f.help}`);
  }
  if (c.files > 0) lines.push('', INPUT_HELP);
  return lines.join('\n') + '\n';
}

type Flags = Record<string, string | number | boolean | undefined>;

function usage(message: string, command?: string): OTError {
  const hint = command ? ` (see \`kantorovich ${command} --help\`)` : ' (see `kantorovich --help`)';
  return new OTError('invalid-option', message + hint);
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function suggest(word: string, options: string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const o of options) {
    const dist = editDistance(word, o);
    if (dist < bestD) [best, bestD] = [o, dist];
  }
  return bestD <= (word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3))) ? best : '';
}

function parseArgs(command: string, argv: string[]): { files: string[]; flags: Flags } {
  const spec = COMMANDS[command];
  const files: string[] = [];
  const flags: Flags = {};
  let onlyFiles = false;
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (onlyFiles || arg === '-' || !arg.startsWith('-')) {
      files.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyFiles = true;
      continue;
    }
    if (arg === '-h') {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw usage(`unknown option '${arg}' for '${command}'`, command);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const f = spec.flags[name];
    if (!f) {
      const close = suggest(name, Object.keys(spec.flags));
      throw usage(`unknown option '--${name}' for '${command}'${close ? `; did you mean '--${close}'?` : ''}`, command);
    }
    if (f.kind === 'boolean') {
      if (eq >= 0) throw usage(`--${name} takes no value`, command);
      flags[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (k + 1 < argv.length) value = argv[++k];
    else throw usage(`--${name} needs a value (${f.arg ?? 'X'})`, command);
    if (f.choices && !f.choices.includes(value)) {
      throw usage(`--${name} must be one of ${f.choices.join(', ')} (got '${value}')`, command);
    }
    if (f.kind === 'number' || f.kind === 'int') {
      const x = value.trim() === '' ? NaN : Number(value);
      if (!Number.isFinite(x) || (f.kind === 'int' && !Number.isInteger(x))) {
        throw usage(`--${name} must be ${f.kind === 'int' ? 'an integer' : 'a finite number'} (got '${value}')`, command);
      }
      flags[name] = x;
    } else {
      flags[name] = value;
    }
  }
  if (flags.help) return { files, flags };
  if (files.length !== spec.files) {
    const what = spec.files === 0 ? 'no file arguments' : `${spec.files} files (a and b)`;
    throw usage(`'${command}' takes ${what}, got ${files.length}${files.length ? ` (${files.join(', ')})` : ''}`, command);
  }
  return { files, flags };
}

function parseCost(s: string | undefined): CostSpec {
  if (s === undefined || s === 'sqeuclidean' || s === 'euclidean') return s ?? 'sqeuclidean';
  const m = /^p=(.+)$/.exec(s);
  const p = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(p) || p <= 0) {
    throw usage(`--cost must be sqeuclidean, euclidean or p=P with P > 0 (got '${s}')`);
  }
  return { p };
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

interface Measure {
  name: string;
  points: DenseMatrix;
  weights?: Float64Array;
}

type WeightsCol = 'first' | 'last' | number | undefined;

function parseWeightsCol(s: string | undefined, command: string): WeightsCol {
  if (s === undefined || s === 'first' || s === 'last') return s;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw usage(`--weights-col must be last, first or a column number ≥ 1 (got '${s}')`, command);
  return n;
}

function readText(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new OTError('invalid-option', `cannot read input file '${path}': ${why}.`);
  }
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$/i;

function parseNumber(tok: string, where: string): number {
  const t = tok.trim();
  if (t === '') throw new OTError('nan', `${where}: empty field.`);
  const x = NUMERIC.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(x)) throw new OTError('nan', `${where}: '${t}' is not a finite number.`);
  return x;
}

function splitRow(line: string): string[] {
  return line.includes(',') || line.includes(';') ? line.split(/[,;]/) : line.trim().split(/\s+/);
}

/** Split off the weights column (if any) and check the weights. */
function takeWeights(rows: number[][], col: WeightsCol, name: string, lineOf: (i: number) => string): { rows: number[][]; weights?: Float64Array } {
  if (col === undefined) return { rows };
  const cols = rows[0].length;
  const c = col === 'first' ? 0 : col === 'last' ? cols - 1 : col - 1;
  if (c >= cols) throw new OTError('shape', `${name}: --weights-col ${col} but the rows have ${cols} column(s).`);
  if (cols < 2) throw new OTError('shape', `${name}: --weights-col needs at least two columns (coordinates and weights); the rows have ${cols}.`);
  const weights = new Float64Array(rows.length);
  const out = rows.map((r, i) => {
    const w = r[c];
    if (w < 0) throw new OTError('negative', `${name}, ${lineOf(i)}: the weight ${w} is negative; weights must be ≥ 0.`);
    weights[i] = w;
    return r.filter((_, k) => k !== c);
  });
  return { rows: out, weights };
}

function toDense(rows: number[][]): DenseMatrix {
  const n = rows.length;
  const d = rows[0].length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) data.set(rows[i], i * d);
  return { data, rows: n, cols: d };
}

function parseCsv(text: string, name: string, col: WeightsCol): Measure {
  const rows: number[][] = [];
  const lineNo: number[] = [];
  const lines = text.split(/\r?\n/);
  let sawContent = false;
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l].trim();
    if (line === '' || line.startsWith('#')) continue;
    const toks = splitRow(line);
    if (!sawContent) {
      sawContent = true;
      if (toks.every((t) => !NUMERIC.test(t.trim()))) continue; // a header
    }
    const where = `${name}, line ${l + 1}`;
    const row = toks.map((t, k) => parseNumber(t, `${where}, column ${k + 1}`));
    if (rows.length > 0 && row.length !== rows[0].length) {
      throw new OTError(
        'shape',
        `${where}: ${row.length} column(s) but line ${lineNo[0]} has ${rows[0].length}; every row must have the same number of columns.`,
      );
    }
    rows.push(row);
    lineNo.push(l + 1);
  }
  if (rows.length === 0) throw new OTError('empty', `${name} has no data rows; give one point per row.`);
  const { rows: pts, weights } = takeWeights(rows, col, name, (i) => `line ${lineNo[i]}`);
  return { name, points: toDense(pts), weights };
}

function parseJson(text: string, name: string, col: WeightsCol): Measure {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new OTError('shape', `${name} is not valid JSON: ${(e as Error).message}`);
  }
  let pts: unknown = doc;
  let w: unknown;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const o = doc as Record<string, unknown>;
    if (!('points' in o)) throw new OTError('shape', `${name}: a JSON object needs a "points" array (and optionally "weights").`);
    pts = o.points;
    w = o.weights;
  }
  if (!Array.isArray(pts)) throw new OTError('shape', `${name}: "points" must be an array of rows or of numbers.`);
  if (pts.length === 0) throw new OTError('empty', `${name} has no points; give at least one.`);
  const num = (x: unknown, where: string): number => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new OTError('nan', `${name}, ${where}: ${JSON.stringify(x)} is not a finite number.`);
    return x;
  };
  const oneD = !Array.isArray(pts[0]);
  let rows = (pts as unknown[]).map((r, i) => {
    if (oneD) {
      if (Array.isArray(r)) throw new OTError('shape', `${name}: point ${i} is an array but point 0 is a number; mix not allowed.`);
      return [num(r, `point ${i}`)];
    }
    if (!Array.isArray(r)) throw new OTError('shape', `${name}: point ${i} is not an array; give one array per point.`);
    return r.map((x, k) => num(x, `point ${i}, coordinate ${k}`));
  });
  if (rows[0].length === 0) throw new OTError('empty', `${name}: points have no coordinates.`);
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].length !== rows[0].length) {
      throw new OTError('shape', `${name}: point ${i} has ${rows[i].length} coordinate(s) but point 0 has ${rows[0].length}; every point must have the same dimension.`);
    }
  }
  let weights: Float64Array | undefined;
  if (w !== undefined) {
    if (!Array.isArray(w)) throw new OTError('shape', `${name}: "weights" must be an array of numbers.`);
    if (w.length !== rows.length) throw new OTError('shape', `${name}: ${w.length} weights for ${rows.length} points.`);
    weights = Float64Array.from(w, (x, i) => {
      const v = num(x, `weight ${i}`);
      if (v < 0) throw new OTError('negative', `${name}: weight ${i} is ${v}; weights must be ≥ 0.`);
      return v;
    });
  } else if (col !== undefined) {
    const t = takeWeights(rows, col, name, (i) => `point ${i}`);
    rows = t.rows;
    weights = t.weights;
  }
  return { name, points: toDense(rows), weights };
}

function readMeasure(path: string, col: WeightsCol): Measure {
  const text = readText(path);
  const name = path === '-' ? 'stdin' : basename(path);
  const head = text.trimStart()[0];
  if (/\.json$/i.test(path) || head === '[' || head === '{') return parseJson(text, name, col);
  return parseCsv(text, name, col);
}

function readPair(files: string[], flags: Flags, command: string): [Measure, Measure] {
  const col = parseWeightsCol(flags['weights-col'] as string | undefined, command);
  if (files[0] === '-' && files[1] === '-') throw usage('only one of a and b can be read from stdin', command);
  const A = readMeasure(files[0], col);
  const B = readMeasure(files[1], col);
  if (A.points.cols !== B.points.cols) {
    throw new OTError(
      'shape',
      `${A.name} has points of dimension ${A.points.cols} but ${B.name} has dimension ${B.points.cols}; both must live in the same space.`,
    );
  }
  return [A, B];
}

// ---------------------------------------------------------------------------------------------------------
// Progress bar (stderr, TTY only unless --progress)

class Progress {
  private readonly enabled: boolean;
  private readonly delayMs: number;
  private readonly t0 = performance.now();
  private last = -Infinity;
  private shown = false;
  private spin = 0;

  constructor(
    private readonly label: string,
    flags: Flags,
  ) {
    const tty = process.stderr.isTTY === true;
    this.enabled = !flags['no-progress'] && (flags.progress === true || tty);
    this.delayMs = flags.progress ? 0 : 300;
  }

  /** `fraction` in [0, 1], or undefined for an indeterminate spinner. */
  update(text: string, fraction?: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.t0 < this.delayMs || now - this.last < 80) return;
    this.last = now;
    const width = 24;
    let bar: string;
    if (fraction === undefined) {
      const pos = this.spin++ % (2 * width - 2);
      const at = pos < width ? pos : 2 * width - 2 - pos;
      bar = '·'.repeat(at) + '█' + '·'.repeat(width - 1 - at);
    } else {
      const f = Math.min(1, Math.max(0, fraction));
      const full = Math.round(f * width);
      bar = '█'.repeat(full) + '·'.repeat(width - full);
    }
    const secs = ((now - this.t0) / 1000).toFixed(1);
    let line = `${this.label} [${bar}] ${text}  ${secs}s`;
    const cols = process.stderr.columns;
    if (cols && line.length > cols - 1) line = line.slice(0, cols - 1);
    process.stderr.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Output

function fmt(x: number): string {
  return String(x);
}

function report(flags: Flags, fields: Record<string, unknown>): string {
  if (flags.json) return JSON.stringify(fields, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n';
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k === 'command') continue;
    if (k === 'timeMs') rows.push(['time', `${(v as number).toFixed(1)} ms`]);
    else rows.push([k, typeof v === 'number' ? fmt(v) : String(v)]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

function writeOut(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'its folder does not exist' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new OTError('invalid-option', `cannot write the plan to '${path}': ${why}.`);
  }
}

function tripletsCsv(entries: Iterable<[number, number, number]>): string {
  const out = ['i,j,mass'];
  for (const [i, j, v] of entries) out.push(`${i},${j},${fmt(v)}`);
  return out.join('\n') + '\n';
}

function denseCsv(P: DenseMatrix): string {
  const out: string[] = [];
  for (let i = 0; i < P.rows; i++) {
    const row: string[] = [];
    for (let j = 0; j < P.cols; j++) row.push(fmt(P.data[i * P.cols + j]));
    out.push(row.join(','));
  }
  return out.join('\n') + '\n';
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}

function costName(c: CostSpec): string {
  return typeof c === 'object' ? `p=${c.p}` : c;
}

// ---------------------------------------------------------------------------------------------------------
// Commands

type Backend = 'auto' | 'wasm' | 'js' | 'webgpu';

async function runEmd(files: string[], flags: Flags): Promise<string> {
  const cost = parseCost(flags.cost as string | undefined);
  const [A, B] = readPair(files, flags, 'emd');
  const geom = pointCloud(A.points, B.points, { cost });
  const bar = new Progress('emd', flags);
  const t0 = performance.now();
  let r;
  try {
    r = await emd(A.weights, B.weights, geom, {
      maxIter: flags['max-iter'] as number | undefined,
      backend: flags.backend as Backend | undefined,
      normalize: flags.normalize === true,
      onProgress: (p) => bar.update(`${p.iterations} pivots`),
      signal: interrupt.signal,
    });
  } finally {
    bar.done();
  }
  const timeMs = ms(t0);
  if (flags.plan) writeOut(flags.plan as string, tripletsCsv(r.plan.entries()));
  if (r.status !== 'optimal' && !flags.json) process.stderr.write(`warning: stopped at the pivot limit (${r.iterations}); the plan is not optimal.\n`);
  return report(flags, {
    command: 'emd',
    cost: r.cost,
    status: r.status,
    iterations: r.iterations,
    dualityGap: r.dualityGap,
    backend: r.backend,
    n: A.points.rows,
    m: B.points.rows,
    dim: A.points.cols,
    groundCost: costName(cost),
    nnz: r.plan.nnz,
    timeMs,
    plan: flags.plan as string | undefined,
  });
}

async function runSinkhorn(files: string[], flags: Flags): Promise<string> {
  if (flags.reg === undefined) throw usage('sinkhorn needs --reg ε (the entropic regularization, e.g. --reg 0.05)', 'sinkhorn');
  const cost = parseCost(flags.cost as string | undefined);
  const threshold = flags['plan-threshold'] as number | undefined;
  const format = threshold !== undefined ? 'triplets' : ((flags['plan-format'] as string | undefined) ?? 'dense');
  if (threshold !== undefined && flags['plan-format'] === 'dense') throw usage('--plan-threshold writes triplets; it cannot go with --plan-format dense', 'sinkhorn');
  const [A, B] = readPair(files, flags, 'sinkhorn');
  const geom = pointCloud(A.points, B.points, { cost });
  const maxIter = (flags['max-iter'] as number | undefined) ?? 1000;
  const bar = new Progress('sinkhorn', flags);
  const t0 = performance.now();
  let r;
  try {
    r = await sinkhorn(A.weights, B.weights, geom, {
      reg: flags.reg as number,
      method: flags.method as 'log' | 'scaling' | 'auto' | undefined,
      maxIter: flags['max-iter'] as number | undefined,
      tol: flags.tol as number | undefined,
      epsScaling: flags['eps-scaling'] === true,
      backend: flags.backend as Backend | undefined,
      normalize: flags.normalize === true,
      plan: flags.plan !== undefined,
      onProgress: (p) =>
        bar.update(`iter ${p.iterations}/${maxIter}  error ${p.error.toExponential(2)}  ε ${p.eps.toPrecision(3)}`, maxIter > 0 ? p.iterations / maxIter : undefined),
      signal: interrupt.signal,
    });
  } finally {
    bar.done();
  }
  const timeMs = ms(t0);
  if (flags.plan) {
    if (!r.plan) throw new Error('sinkhorn returned no plan although one was asked for');
    const P = r.plan;
    let text: string;
    if (format === 'dense') text = denseCsv(P);
    else {
      const t = threshold ?? 0;
      const entries = function* (): Generator<[number, number, number]> {
        for (let i = 0; i < P.rows; i++) for (let j = 0; j < P.cols; j++) if (P.data[i * P.cols + j] > t) yield [i, j, P.data[i * P.cols + j]];
      };
      text = tripletsCsv(entries());
    }
    writeOut(flags.plan as string, text);
  }
  if (!r.converged && !flags.json) {
    process.stderr.write(`warning: not converged after ${r.iterations} iterations (marginal error ${r.marginalError.toExponential(2)}); raise --max-iter or --tol.\n`);
  }
  return report(flags, {
    command: 'sinkhorn',
    cost: r.cost,
    regCost: r.regCost,
    reg: flags.reg,
    iterations: r.iterations,
    converged: r.converged,
    marginalError: r.marginalError,
    method: r.method,
    backend: r.backend,
    // which GPU ran it ("… (software)" on lavapipe/SwiftShader): a software adapter explains a slow run
    ...(r.backend === 'webgpu' ? { adapter: (await backends()).find((b) => b.name === 'webgpu')?.adapter } : {}),
    n: A.points.rows,
    m: B.points.rows,
    dim: A.points.cols,
    groundCost: costName(cost),
    timeMs,
    plan: flags.plan as string | undefined,
  });
}

async function runSliced(files: string[], flags: Flags): Promise<string> {
  const [A, B] = readPair(files, flags, 'sliced');
  const t0 = performance.now();
  const r = await slicedWasserstein(A.points, B.points, {
    a: A.weights,
    b: B.weights,
    p: flags.p as number | undefined,
    nProjections: flags.projections as number | undefined,
    seed: flags.seed as number | undefined,
    backend: flags.backend as Backend | undefined,
    normalize: flags.normalize === true,
  });
  return report(flags, {
    command: 'sliced',
    value: r.value,
    p: (flags.p as number | undefined) ?? 2,
    projections: r.projections.rows,
    seed: (flags.seed as number | undefined) ?? 0,
    backend: r.backend,
    n: A.points.rows,
    m: B.points.rows,
    dim: A.points.cols,
    timeMs: ms(t0),
  });
}

async function runW1d(files: string[], flags: Flags): Promise<string> {
  const [A, B] = readPair(files, flags, 'w1d');
  if (A.points.cols !== 1) {
    const hint = A.points.cols === 2 && flags['weights-col'] === undefined ? ' (if the second column holds weights, add --weights-col last)' : '';
    throw new OTError('shape', `w1d needs one number per row, but ${A.name} and ${B.name} have ${A.points.cols} columns${hint}.`);
  }
  const p = (flags.p as number | undefined) ?? 1;
  const opts = {
    a: A.weights,
    b: B.weights,
    p,
    backend: flags.backend as Backend | undefined,
    normalize: flags.normalize === true,
  };
  const t0 = performance.now();
  let value: number;
  let backend: string | undefined;
  if (flags.plan) {
    const r = await emd1d(A.points.data, B.points.data, opts);
    value = Math.pow(r.cost, 1 / p);
    backend = r.backend;
    writeOut(flags.plan as string, tripletsCsv(r.plan.entries()));
  } else {
    value = await wasserstein1d(A.points.data, B.points.data, opts);
  }
  return report(flags, {
    command: 'w1d',
    value,
    p,
    backend,
    n: A.points.rows,
    m: B.points.rows,
    timeMs: ms(t0),
    plan: flags.plan as string | undefined,
  });
}

async function runBackends(_files: string[], flags: Flags): Promise<string> {
  const list = await backends();
  if (flags.json) return JSON.stringify(list) + '\n';
  return list.map((b) => `${b.name.padEnd(7)} ${b.available ? `available${b.adapter ? ` on ${b.adapter}` : ''}` : `unavailable: ${b.reason ?? 'unknown reason'}`}`).join('\n') + '\n';
}

const RUNNERS: Record<string, (files: string[], flags: Flags) => Promise<string>> = {
  emd: runEmd,
  sinkhorn: runSinkhorn,
  sliced: runSliced,
  w1d: runW1d,
  backends: runBackends,
};

// ---------------------------------------------------------------------------------------------------------
// Main

const interrupt = new AbortController();

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    await new Promise<void>((resolve) => process.stdout.write(`${pkg.version}\n`, () => resolve()));
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) {
      process.stderr.write(mainHelp());
      return 2;
    }
    await new Promise<void>((resolve) =>
      process.stdout.write(command === 'help' && rest[0] && COMMANDS[rest[0]] ? commandHelp(rest[0]) : mainHelp(), () => resolve()),
    );
    return 0;
  }
  if (!COMMANDS[command]) {
    const close = suggest(command, Object.keys(COMMANDS));
    throw usage(`unknown command '${command}'${close ? `; did you mean '${close}'?` : `; commands: ${Object.keys(COMMANDS).join(', ')}`}`);
  }
  const { files, flags } = parseArgs(command, rest);
  if (flags.help) {
    await new Promise<void>((resolve) => process.stdout.write(commandHelp(command), () => resolve()));
    return 0;
  }
  // Ctrl-C aborts the solve through its signal (solves yield to the event loop when given one, and worker
  // solves stop by message): the answer is 'error (aborted)' and exit code 130. A second Ctrl-C ends at once.
  process.once('SIGINT', () => {
    interrupt.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  const out = await RUNNERS[command](files, flags);
  await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
  return 0;
}

// A closed pipe (`kantorovich … | head -1`) is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 1));

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (e) {
  // OTErrors from a worker arrive as OTError instances too (ts/worker/protocol.ts rebuilds them)
  if (e instanceof OTError) {
    process.stderr.write(`error (${e.code}): ${e.message}\n`);
    code = e.code === 'aborted' && interrupt.signal.aborted ? 130 : 2;
  } else {
    process.stderr.write(`error (unexpected): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    code = 1;
  }
}
// Exit explicitly: a GPU device or a worker pool may otherwise keep the process alive after the answer.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
