#!/usr/bin/env node
// The `kantorovich` command: optimal transport between two point clouds read from CSV or JSON files. Node-only glue
// over the public API; all numerics are the library's. The commands and their solver flags come from the solver
// registry (cli/commands.ts, cli/flags.ts).
//
// Exit codes: 0 success, 2 bad input or usage (printed as `error (<OTError code>): <message>`, no stack),
// 130 interrupted (Ctrl-C), 1 unexpected failure.
import { createRequire } from 'node:module';
import { OTError, backends } from './node.js';
import { closestOption } from '../ts/registry/schema.js';
import { COMMANDS, type Command } from './cli/commands.js';
import { type Flag, UsageError, readArgs } from './cli/flags.js';

const INPUT_HELP = `Inputs (a.csv, b.csv; "-" reads stdin):
  CSV   one point per row, numbers separated by commas, semicolons or whitespace ("quoted" fields allowed); a
        first line that is not numeric is a header and is skipped; lines starting with # are comments. With
        --weights-col, that column holds the weights (default: uniform).
  JSON  (files ending in .json, or starting with [ or {): an array of rows ([[x, y], ...]) or of numbers
        (1D), or {"points": [[...], ...], "weights": [...]}.`;

function version(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

function mainHelp(): string {
  const lines = [`kantorovich ${version()} — optimal transport from the command line`, '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(11)} ${c.summary}`);
  lines.push('', 'Run `kantorovich <command> --help` for the options of a command; `kantorovich --version` for the version.', '', INPUT_HELP, '');
  lines.push('Exit codes: 0 ok, 2 bad input or usage ("error (<code>): ..."), 130 interrupted, 1 unexpected error.');
  return lines.join('\n') + '\n';
}

function flagLine(name: string, f: Flag): string {
  const left = `  --${name}${f.type === 'boolean' ? '' : ` ${f.arg || 'X'}`}`;
  return left.length < 34 ? `${left.padEnd(34)}${f.help}` : `${left}\n${' '.repeat(34)}${f.help}`;
}

function commandHelp(name: string, c: Command): string {
  const lines = [`kantorovich ${name} — ${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:'];
  for (const [flag, f] of Object.entries(c.flags)) lines.push(flagLine(flag, f));
  lines.push(flagLine('help', { type: 'boolean', arg: '', help: 'show this help' }));
  if (c.files > 0) lines.push('', INPUT_HELP);
  return lines.join('\n') + '\n';
}

function report(json: boolean, fields: Record<string, unknown>): string {
  if (json) return JSON.stringify(fields.backends ?? fields, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n';
  if (Array.isArray(fields.backends)) {
    return (fields.backends as { name: string; available: boolean; reason?: string; note?: string; adapter?: string }[])
      .map((b) => `${b.name.padEnd(7)} ${b.available ? `available${b.adapter ? ` on ${b.adapter}` : ''}${b.note ? ` (${b.note})` : ''}` : `unavailable: ${b.reason ?? 'unknown reason'}`}`)
      .join('\n') + '\n';
  }
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    rows.push(k === 'timeMs' ? ['time', `${(v as number).toFixed(1)} ms`] : [k, String(v)]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

const write = (stream: NodeJS.WriteStream, text: string) => new Promise<void>((resolve) => stream.write(text, () => resolve()));

const interrupt = new AbortController();

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    await write(process.stdout, `${version()}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) {
      await write(process.stderr, mainHelp());
      return 2;
    }
    const sub = command === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    await write(process.stdout, sub ? commandHelp(rest[0], sub) : mainHelp());
    return 0;
  }
  const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!cmd) {
    const close = closestOption(command, Object.keys(COMMANDS));
    throw new UsageError(`unknown command '${command}'${close ? `; did you mean '${close}'?` : `; commands: ${Object.keys(COMMANDS).join(', ')}`}`);
  }
  const { files, values } = readArgs(command, rest, cmd.flags);
  if (values.help) {
    await write(process.stdout, commandHelp(command, cmd));
    return 0;
  }
  if (files.length !== cmd.files) {
    const what = cmd.files === 0 ? 'no file arguments' : `${cmd.files} files (a and b)`;
    throw new UsageError(`'${command}' takes ${what}, got ${files.length}${files.length ? ` (${files.join(', ')})` : ''}`, command);
  }
  // Ctrl-C aborts the solve through its signal (in-process solves yield to the event loop when given one, worker
  // solves stop by message): the answer is 'error (aborted)' and exit code 130. A second Ctrl-C ends at once.
  process.once('SIGINT', () => {
    interrupt.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  let fields = await cmd.run(files, values, interrupt.signal);
  if (fields.backend === 'webgpu') {
    // which GPU ran it ("… (software)" on lavapipe/SwiftShader explains a slow run), as `backends` shows it
    const adapter = (await backends()).find((b) => b.name === 'webgpu')?.adapter;
    if (adapter) fields = Object.fromEntries(Object.entries(fields).flatMap(([k, v]) => (k === 'backend' ? [[k, v], ['adapter', adapter]] : [[k, v]])));
  }
  await write(process.stdout, report(values.json === true, fields));
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
    const interrupted = e.code === 'aborted' && interrupt.signal.aborted;
    process.stderr.write(`error (${e.code}): ${interrupted ? `interrupted (Ctrl-C): ${e.message}` : e.message}\n`);
    code = interrupted ? 130 : 2;
  } else {
    process.stderr.write(`error (unexpected): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    code = 1;
  }
}
// Exit explicitly: a GPU device or a worker pool may otherwise keep the process alive after the answer.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
