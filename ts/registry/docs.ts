// The option tables of docs/OPTIONS.md (linked from the README), generated from the registry
// (tests/readme-options.test.ts keeps them in sync).
import { SOLVERS } from './registry.js';
import { backendsOf } from './define.js';

const esc = (s: string) => s.replace(/\|/g, '\\|');

/** One markdown section per solver: summary, backends, and its options (name, accepted values, default, doc). */
export function optionTables(): string {
  const out: string[] = [];
  for (const d of SOLVERS.values()) {
    out.push(`#### \`${d.name}(${d.params.join(', ')}, options)\``, '', `${d.summary} Backends: ${backendsOf(d).join(', ')}.`, '');
    out.push('| option | accepts | default | what it does |', '|---|---|---|---|');
    for (const [name, spec] of Object.entries(d.options)) {
      out.push(`| \`${name}\` | ${esc(spec.type)} | ${spec.required ? '**required**' : esc(spec.default ?? '—')} | ${esc(spec.doc)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
