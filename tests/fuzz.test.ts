// A fixed-seed slice of the differential fuzz (tests/fuzz-core.ts; the long run is `npm run fuzz`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dispose } from 'kantorovich';
import { referenceSinkhorn, runFuzz } from './fuzz-core.js';

test('the reference Sinkhorn is tight (closed form: one source)', () => {
  // a single source sends b exactly: ⟨P, C⟩ = Σ b_j C_0j whatever reg is
  const c = referenceSinkhorn([1], [0.3, 0.7], [[1, 2]], 0.1);
  assert.ok(Math.abs(c - (0.3 + 1.4)) < 1e-12, String(c));
});

test('fuzz slice: seed 20261206, 60 cases (exact certificates, brute force, 1D, entropic on every backend, some in workers)', async () => {
  const r = await runFuzz({ seed: 20261206, cases: 60, workerEvery: 9 });
  await dispose();
  assert.ok(r.checks > 1000, `${r.checks} checks`);
  assert.equal(r.failures, [], r.failures.map((f) => `case ${f.index} ${f.kind} ${f.backend}: ${f.message}`).join('\n'));
});

test.run();
