// Reading the point clouds of the command line: CSV (one point per row, quoting as RFC 4180, a header line and
// # comments skipped, optional weights column) and JSON (an array of rows or numbers, or { points, weights }).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { OTError, type DenseMatrix } from '../node.js';
import { type Flags, UsageError } from './flags.js';

export interface Measure {
  name: string;
  points: DenseMatrix;
  weights?: Float64Array;
}

type WeightsCol = 'first' | 'last' | number | undefined;

function parseWeightsCol(s: string | undefined, command: string): WeightsCol {
  if (s === undefined || s === 'first' || s === 'last') return s;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--weights-col must be last, first or a column number ≥ 1 (got '${s}')`, command);
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

/**
 * The fields of one line: comma- or semicolon-separated (RFC 4180 quoting: "1.5", "a ""quoted"" header"),
 * or whitespace-separated when the line has neither separator outside quotes.
 */
export function splitRow(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let separated = false;
  for (let k = 0; k < line.length; k++) {
    const ch = line[k];
    if (quoted) {
      if (ch === '"' && line[k + 1] === '"') (field += '"'), k++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',' || ch === ';') (fields.push(field), (field = ''), (separated = true));
    else field += ch;
  }
  fields.push(field);
  return separated ? fields : fields[0].trim().split(/\s+/);
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

export function readMeasure(path: string, col: WeightsCol): Measure {
  const text = readText(path);
  const name = path === '-' ? 'stdin' : basename(path);
  const head = text.trimStart()[0];
  if (/\.json$/i.test(path) || head === '[' || head === '{') return parseJson(text, name, col);
  return parseCsv(text, name, col);
}

/** Reads a and b; `sameDimension: false` for commands that compare spaces of different dimension (gromov). */
export function readPair(files: string[], flags: Flags, command: string, { sameDimension = true } = {}): [Measure, Measure] {
  const col = parseWeightsCol(flags['weights-col'] as string | undefined, command);
  if (files[0] === '-' && files[1] === '-') throw new UsageError('only one of a and b can be read from stdin', command);
  const A = readMeasure(files[0], col);
  const B = readMeasure(files[1], col);
  if (sameDimension && A.points.cols !== B.points.cols) {
    throw new OTError(
      'shape',
      `${A.name} has points of dimension ${A.points.cols} but ${B.name} has dimension ${B.points.cols}; both must live in the same space.`,
    );
  }
  return [A, B];
}
