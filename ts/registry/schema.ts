// Option schemas: each solver declares its options once (name, type, range, default, one doc line), and one
// validation pass checks a call's options against it before any allocation, upload or worker message.
// The same table drives the option tables of docs/OPTIONS.md, the CLI's flags and the registry test.
import { OTError } from '../errors.js';

/** One option: how to check a value, how to describe it (docs, errors), and its default. */
export interface OptionSpec {
  /** The accepted values in words, e.g. "integer ≥ 0" or "'scaling' | 'log' | 'auto'". */
  readonly type: string;
  /** One line: what it does (and its unit, and POT's name where it differs). */
  readonly doc: string;
  /** The default, in words ("1000", "uniform", "2 GiB"); absent when the option is required or has none. */
  readonly default?: string;
  /** Required options make the call fail with 'invalid-option' when missing. */
  readonly required?: boolean;
  /** Throws OTError('invalid-option') naming `path` and the accepted range. `undefined` never reaches it. */
  check(value: unknown, path: string): void;
  /** Values the check rejects (for the registry test: every solver must reject each before any work). */
  readonly invalid: readonly unknown[];
  /** What a command line can give: numbers, flags, one of `values`, any of those, or data (not a flag). */
  readonly kind: CheckKind;
  /** The literals of a 'choice' (and of the choices inside a 'union'). */
  readonly values?: readonly (string | boolean)[];
}

export type CheckKind = 'number' | 'boolean' | 'choice' | 'union' | 'data';

export type Schema = Readonly<Record<string, OptionSpec>>;

/** The parts of an option's spec a solver writes; `doc` and `default` are added with `.doc()`. */
export interface Check {
  readonly type: string;
  check(value: unknown, path: string): void;
  /** Values the check rejects (examples for tests). */
  readonly invalid?: readonly unknown[];
  readonly kind?: CheckKind;
  readonly values?: readonly (string | boolean)[];
}

/**
 * While anyOf tries its alternatives, a mismatch throws this one object: an OTError built per failed alternative
 * (its message and stack) was ~15 µs of a small solve's ~300 µs (threads: 'auto' fails the number check first).
 */
const MISMATCH = new OTError('invalid-option', 'an alternative of anyOf does not match');
let probing = 0;

function bad(path: string, type: string, value: unknown): never {
  if (probing > 0) throw MISMATCH;
  throw new OTError('invalid-option', `${path} must be ${type} (got ${show(value)}).`);
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

/** Builder: `opt(num({ min: 0 }), 'doc', '1000')`. */
export function opt(c: Check, doc: string, defaultValue?: string): OptionSpec {
  return { type: c.type, check: c.check.bind(c), doc, default: defaultValue, invalid: rejected(c), kind: c.kind ?? 'data', values: c.values };
}

/** The check's example invalid values that it really rejects. */
function rejected(c: Check): unknown[] {
  return (c.invalid ?? []).filter((v) => {
    try {
      c.check(v, 'x');
      return false;
    } catch {
      return true;
    }
  });
}

/** A required option. */
export function required(c: Check, doc: string): OptionSpec {
  return { type: c.type, check: c.check.bind(c), doc, required: true, invalid: rejected(c), kind: c.kind ?? 'data', values: c.values };
}

export interface NumberRange {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  lt?: number;
  integer?: boolean;
}

/** A finite number (an integer when `integer`) within the range. */
export function num(r: NumberRange = {}): Check {
  const parts: string[] = [];
  if (r.gt !== undefined) parts.push(`> ${r.gt}`);
  if (r.min !== undefined) parts.push(`≥ ${r.min}`);
  if (r.lt !== undefined) parts.push(`< ${r.lt}`);
  if (r.max !== undefined) parts.push(`≤ ${r.max}`);
  const type = `${r.integer ? 'an integer' : 'a finite number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
  const invalid: unknown[] = [NaN, Infinity, 'abc', null];
  if (r.min !== undefined) invalid.push(r.min - 1);
  if (r.gt !== undefined) invalid.push(r.gt, r.gt - 1);
  if (r.max !== undefined) invalid.push(r.max + 1);
  if (r.lt !== undefined) invalid.push(r.lt);
  if (r.integer) invalid.push((r.min ?? r.gt ?? 0) + 1.5);
  return {
    type,
    invalid,
    kind: 'number',
    check(v, path) {
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(path, type, v);
      if (r.integer && !Number.isInteger(v)) bad(path, type, v);
      if (r.min !== undefined && v < r.min) bad(path, type, v);
      if (r.gt !== undefined && !(v > r.gt)) bad(path, type, v);
      if (r.max !== undefined && v > r.max) bad(path, type, v);
      if (r.lt !== undefined && !(v < r.lt)) bad(path, type, v);
    },
  };
}

export const bool: Check = {
  type: 'true or false',
  invalid: ['yes', 1, null],
  kind: 'boolean',
  values: [true, false],
  check(v, path) {
    if (typeof v !== 'boolean') bad(path, 'true or false', v);
  },
};

/** One of the given literals (strings, booleans). */
export function oneOf(...values: readonly (string | boolean)[]): Check {
  const type = values.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(' | ');
  return {
    type,
    invalid: ['no-such-value', 42, null],
    kind: 'choice',
    values,
    check(v, path) {
      if (!values.includes(v as string)) bad(path, type, v);
    },
  };
}

/** Any of the checks (in order). */
export function anyOf(...checks: Check[]): Check {
  const type = checks.map((c) => c.type).join(', or ');
  return {
    type,
    invalid: checks.flatMap((c) => c.invalid ?? []),
    kind: checks.every((c) => c.kind && c.kind !== 'data') ? 'union' : 'data',
    values: checks.flatMap((c) => c.values ?? []),
    check(v, path) {
      for (const c of checks) {
        probing++;
        try {
          c.check(v, path);
          return;
        } catch (e) {
          if (!(e instanceof OTError)) throw e;
        } finally {
          probing--;
        }
      }
      bad(path, type, v);
    },
  };
}

/** An array of numbers or a typed array (entries are checked with the data: finiteness, sign, length). */
export const vector: Check = {
  type: 'an array of numbers or a typed array',
  invalid: [42, 'abc', null, {}],
  check(v, path) {
    if (!(Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)))) bad(path, this.type, v);
  },
};

/** `{ data, rows, cols }` or an array of rows (entries are checked with the data). */
export const matrix: Check = {
  type: '{ data, rows, cols } or an array of rows',
  invalid: [42, 'abc', null, {}],
  check(v, path) {
    if (Array.isArray(v)) return;
    if (typeof v === 'object' && v !== null && 'data' in v && 'rows' in v && 'cols' in v) return;
    bad(path, this.type, v);
  },
};

export const func: Check = {
  type: 'a function',
  invalid: [42, 'abc', null, {}],
  check(v, path) {
    if (typeof v !== 'function') bad(path, 'a function', v);
  },
};

/** An AbortSignal (anything with a boolean `aborted` and addEventListener, as DOM and Node signals have). */
export const signal: Check = {
  type: 'an AbortSignal',
  invalid: [{}, 42, null, { aborted: false }],
  check(v, path) {
    const s = v as { aborted?: unknown; addEventListener?: unknown } | null;
    if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
      bad(path, 'an AbortSignal', v);
    }
  },
};

/** A plain object whose keys are checked against a nested schema (unknown keys are errors too). */
export function object(schema: Schema, type = `{ ${Object.keys(schema).join(', ')} }`): Check {
  return {
    type,
    invalid: [42, 'abc', null, { noSuchKey: 1 }],
    check(v, path) {
      if (!isPlainObject(v)) bad(path, type, v);
      checkAgainst(schema, v, path);
    },
  };
}

/** A value checked elsewhere (by the solver, with the data it belongs to); only its presence is typed here. */
export function anything(type: string): Check {
  return { type, check() {} };
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/**
 * POT's and SciPy's names for our options: a user porting code gets the right name, not a Levenshtein guess.
 */
const FOREIGN_NAMES: Record<string, string> = {
  numitermax: 'maxIter',
  maxiter: 'maxIter',
  max_iter: 'maxIter',
  numiter: 'maxIter',
  stopthr: 'tol',
  threshold: 'tol',
  epsilon: 'reg',
  eps: 'reg',
  lambda: 'reg',
  reg_m: 'regM',
  regm: 'regM',
  // ot.da's estimators (ts/da/)
  reg_e: 'reg',
  reg_cl: 'regClass',
  limit_max: 'limitMax',
  max_inner_iter: 'maxInnerIter',
  inner_tol: 'innerTol',
  metric: 'cost',
  n_projections: 'nProjections',
  nprojections: 'nProjections',
  warmstart: 'warmStart',
  log: '(none: every result carries iterations, error and status)',
  verbose: 'onProgress',
  callback: 'onProgress',
};

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The valid option a misspelt or foreign name most likely meant, or undefined when none is close. */
export function closestOption(name: string, valid: readonly string[]): string | undefined {
  const key = name.toLowerCase();
  const foreign = FOREIGN_NAMES[key] ?? FOREIGN_NAMES[key.replace(/_/g, '')];
  if (foreign && (valid.includes(foreign) || foreign.startsWith('('))) return foreign;
  const ci = valid.find((v) => v.toLowerCase() === key);
  if (ci) return ci;
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const dist = editDistance(key, v.toLowerCase());
    if (dist < bestD) (bestD = dist), (best = v);
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Check every key of `opts` against `schema` (unknown names, then values). `path` prefixes messages. */
export function checkAgainst(schema: Schema, opts: Record<string, unknown>, path: string): void {
  const valid = Object.keys(schema);
  for (const key of Object.keys(opts)) {
    const spec = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    if (!spec) {
      const guess = closestOption(key, valid);
      const hint = guess === undefined ? '' : guess.startsWith('(') ? ` ${guess}` : ` Did you mean '${guess}'?`;
      throw new OTError('invalid-option', `${path} has no option '${key}'.${hint} Valid options: ${valid.join(', ')}.`);
    }
    const v = opts[key];
    if (v !== undefined) spec.check(v, `${path}.${key}`);
  }
  for (const key of valid) {
    if (schema[key].required && opts[key] === undefined) {
      throw new OTError('invalid-option', `${path}.${key} is required: ${schema[key].doc} (${schema[key].type}).`);
    }
  }
}

/**
 * The one validation pass of a call's options: `undefined` means none; anything but a plain object is an
 * error. Returns the options object (never copied: validation must stay cheap).
 */
export function validateOptions(solver: string, schema: Schema, opts: unknown): Record<string, unknown> {
  if (opts === undefined) opts = {};
  if (!isPlainObject(opts)) {
    throw new OTError('invalid-option', `${solver}: options must be a plain object such as { maxIter: 100 } (got ${show(opts)}).`);
  }
  checkAgainst(schema, opts, solver);
  return opts;
}
