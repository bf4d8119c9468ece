// Command-line flags from the solver registry: each solver option a command line can express (numbers, flags,
// choices) becomes `--kebab-name`, parsed by node:util's parseArgs and converted by the option's kind; the
// library's option errors are rephrased in flags. Flags of the CLI itself (inputs, outputs) are declared here too.
import { parseArgs } from 'node:util';
import { OTError } from '../node.js';
import type { Schema } from '../../ts/registry/schema.js';
import { closestOption } from '../../ts/registry/schema.js';

/** A flag of a command: its help line, how its value is read, and the solver option it sets (if any). */
export interface Flag {
  help: string;
  /** Placeholder in the help ('' for a bare flag). */
  arg: string;
  /** 'boolean': bare; 'number'; 'string' (choices checked by the solver or the command). */
  type: 'boolean' | 'number' | 'string';
  /** The solver option it sets; undefined for the CLI's own flags. */
  option?: string;
  choices?: readonly (string | boolean)[];
}

export type Flags = Record<string, string | number | boolean | undefined>;

/** nProjections → n-projections (with the CLI's renames, which are kept short and stable). */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Flag names that differ from the option's kebab-case name. */
const RENAMED: Record<string, string> = { nProjections: 'projections' };

export function flagName(option: string): string {
  return RENAMED[option] ?? kebab(option);
}

/**
 * The flags for a solver's schema, without the options listed in `skip` (those the command sets itself, e.g.
 * the plan, whose flag here names the output file) and without data options (arrays, functions, signals).
 */
export function solverFlags(schema: Schema, skip: readonly string[]): Record<string, Flag> {
  const out: Record<string, Flag> = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (skip.includes(name)) continue;
    const values = spec.values ?? [];
    let type: Flag['type'];
    if (spec.kind === 'number') type = 'number';
    else if (spec.kind === 'boolean') type = 'boolean';
    else if (spec.kind === 'choice' || (spec.kind === 'union' && !(values.length === 2 && values.includes(true) && values.includes(false)))) type = 'string';
    else if (values.includes(true)) type = 'boolean'; // e.g. epsScaling: true | { start, factor } — the flag sets true
    else continue;
    const arg =
      type === 'boolean'
        ? ''
        : spec.kind === 'choice'
          ? values.map(String).join('|')
          : spec.kind === 'union'
            ? [...values.map(String), ...(/integer/.test(spec.type) ? ['N'] : /number/.test(spec.type) ? ['X'] : [])].join('|')
            : placeholder(name, spec.type);
    const dflt = spec.required ? ' (required)' : spec.default ? ` (default ${spec.default})` : '';
    out[flagName(name)] = { help: `${spec.doc}${dflt}`, arg, type, option: name, choices: spec.kind === 'choice' ? values : undefined };
  }
  return out;
}

const PLACEHOLDERS: Record<string, string> = { reg: 'ε', regM: 'ρ', tol: 'T', p: 'P', seed: 'S', nProjections: 'K' };

function placeholder(option: string, type: string): string {
  return PLACEHOLDERS[option] ?? (type.startsWith('an integer') ? 'N' : 'X');
}

export class UsageError extends OTError {
  constructor(message: string, command?: string) {
    super('invalid-option', `${message}${command ? ` (see \`kantorovich ${command} --help\`)` : ' (see `kantorovich --help`)'}`);
  }
}

/** Parse `argv` against the flags: positional files, and typed flag values. Unknown flags suggest the closest. */
export function readArgs(command: string, argv: string[], flags: Record<string, Flag>): { files: string[]; values: Flags } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  // `--max-iter -3`: a negative number after a flag that takes a value is its value (parseArgs calls it ambiguous)
  const args = argv.slice();
  for (let k = 0; k + 1 < args.length; k++) {
    const f = args[k].startsWith('--') && !args[k].includes('=') ? flags[args[k].slice(2)] : undefined;
    if (f && f.type !== 'boolean' && /^-\d|^-\.\d|^-inf/i.test(args[k + 1])) args.splice(k, 2, `${args[k]}=${args[k + 1]}`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg);
    if (unknown) {
      const name = unknown[1].replace(/^-+/, '');
      const close = closestOption(name, Object.keys(flags));
      throw new UsageError(`unknown option '${unknown[1]}' for '${command}'${close ? `; did you mean '--${close}'?` : ''}`, command);
    }
    const needs = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(msg);
    if (needs) throw new UsageError(`${needs[1]} needs a value (${flags[needs[1].slice(2)]?.arg ?? 'X'})`, command);
    throw new UsageError(msg.replace(/\. To specify.*$/s, ''), command);
  }
  const values: Flags = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    const f = flags[name];
    if (!f || typeof raw === 'boolean') {
      values[name] = raw as boolean;
      continue;
    }
    values[name] = convert(name, raw as string, f, command);
  }
  return { files: parsed.positionals, values };
}

function convert(name: string, raw: string, f: Flag, command: string): string | number | boolean {
  if (f.type === 'number') {
    const x = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(x)) throw new UsageError(`--${name} must be a finite number (got '${raw}')`, command);
    return x;
  }
  if (f.choices && !f.choices.map(String).includes(raw)) throw new UsageError(`--${name} must be one of ${f.choices.join(', ')} (got '${raw}')`, command);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  const x = Number(raw);
  return raw.trim() !== '' && Number.isFinite(x) ? x : raw;
}

/** The solver options the flags set. */
export function solverOptions(flags: Record<string, Flag>, values: Flags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(flags)) if (f.option && values[name] !== undefined) out[f.option] = values[name];
  return out;
}

/**
 * An OTError from the library, rephrased for the command line: `solver.option` and `{ option: value }` become
 * the flags that set them.
 */
export function inFlags(e: OTError, solver: string, flags: Record<string, Flag>): OTError {
  const byOption = new Map(Object.entries(flags).filter(([, f]) => f.option).map(([name, f]) => [f.option!, name]));
  let msg = e.message.replace(new RegExp(`\\b${solver}\\.(\\w+)`, 'g'), (m, opt: string) => (byOption.has(opt) ? `--${byOption.get(opt)}` : m));
  msg = msg.replace(/\{ (\w+): ([^}]+?) \}/g, (m, opt: string, v: string) => (byOption.has(opt) ? `--${byOption.get(opt)}${v.trim() === 'true' ? '' : ` ${v.trim()}`}` : m));
  msg = msg.replace(/\b(\w+) must be\b/, (m, opt: string) => (byOption.has(opt) ? `--${byOption.get(opt)} must be` : m));
  if (msg === e.message) return e;
  const out = new OTError(e.code, msg);
  out.stack = e.stack;
  return out;
}
