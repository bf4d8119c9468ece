// Rewrites docs-baseline.json: the exports TypeDoc finds without a doc comment, and the types referenced by
// public ones without being exported. `npm run docs` fails on anything not listed here; document an export,
// run this, and the list shrinks (review the diff: it should never grow).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = root + 'docs-baseline.json';
writeFileSync(file, JSON.stringify({ notDocumented: [], notExported: [] }));
const typedoc = root + 'node_modules/typedoc/bin/typedoc';
const r = spawnSync(process.execPath, [typedoc, '--emit', 'none'], { cwd: root, env: { ...process.env, DOCS_BASELINE: '1', NO_COLOR: '1', FORCE_COLOR: '0' }, encoding: 'utf8', maxBuffer: 64 << 20 });
const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
const notDocumented = [...plain.matchAll(/\[warning\] (\S+) \([A-Za-z]+\), defined in .*, does not have any documentation/g)].map((m) => m[1]);
const notExported = [...plain.matchAll(/\[warning\] (\S+), defined in .*, is referenced by .* but not included in the documentation/g)].map((m) => m[1]);
const uniq = (xs) => [...new Set(xs)].sort();
writeFileSync(file, JSON.stringify({ notDocumented: uniq(notDocumented), notExported: uniq(notExported) }, null, 2) + '\n');
console.log(`docs-baseline.json: ${uniq(notDocumented).length} undocumented, ${uniq(notExported).length} referenced but not exported`);
