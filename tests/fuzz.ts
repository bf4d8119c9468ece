// `npm run fuzz -- [--minutes N] [--cases N] [--seed S] [--only K] [--worker-every K]`: the differential fuzz of
// tests/fuzz-core.ts for as long as asked (default 1 minute, seed from the clock, printed to replay). Exit code
// 1 when any check failed.
import { parseArgs } from 'node:util';
import { dispose } from 'kantorovich';
import { runFuzz } from './fuzz-core.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    cases: { type: 'string' },
    seed: { type: 'string' },
    only: { type: 'string' },
    'worker-every': { type: 'string' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1e9;
const minutes = values.minutes !== undefined ? Number(values.minutes) : values.cases || values.only ? undefined : 1;
console.log(`fuzz: seed ${seed}${minutes !== undefined ? `, ${minutes} min` : ''}${values.cases ? `, ${values.cases} cases` : ''}`);
const t0 = Date.now();
const r = await runFuzz({
  seed,
  minutes,
  cases: values.cases !== undefined ? Number(values.cases) : undefined,
  only: values.only !== undefined ? Number(values.only) : undefined,
  workerEvery: values['worker-every'] !== undefined ? Number(values['worker-every']) : 7,
  log: (l) => console.log(l),
});
await dispose();
console.log(`fuzz: ${r.cases} cases, ${r.checks} checks, ${r.failures.length} failures on ${r.backends.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s (seed ${seed})`);
process.exitCode = r.failures.length ? 1 : 0;
