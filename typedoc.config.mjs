// TypeDoc: `npm run docs` writes the API reference to docs/api/ and fails on a broken {@link}, on a public type
// that is referenced but not exported, and on an undocumented export that is not in docs-baseline.json (the
// exports that had no doc comment when the check started; `npm run docs:baseline` rewrites it, and it should
// only ever shrink).
import { readFileSync } from 'node:fs';

const baseline = JSON.parse(readFileSync(new URL('./docs-baseline.json', import.meta.url), 'utf8'));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'kantorovich',
  entryPoints: ['bindings/node.ts'],
  tsconfig: 'tsconfig.docs.json',
  out: 'docs/api',
  readme: 'README.md',
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: ['Function', 'Class', 'Interface', 'TypeAlias', 'Variable', 'Property', 'Method', 'Accessor', 'Namespace'],
  treatValidationWarningsAsErrors: process.env.DOCS_BASELINE !== '1',
  intentionallyNotDocumented: baseline.notDocumented,
  intentionallyNotExported: baseline.notExported,
};
