// The deep domain-adaptation example (examples/da.ts, `npm run example:da`), short: one seed, 400 steps. JUMBOT's
// minibatch unbalanced OT term must beat training on the source alone on the rotated, label-shifted target by a
// clear margin (the full example: 5 seeds, README table).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accuracy, makeTask, train } from '../examples/da.js';

test('JUMBOT beats source-only on the rotated moons (seed 0, 400 steps)', async () => {
  const { source, target } = makeTask({ seed: 0 });
  const base = await train(source, target, { method: 'source', seed: 0, steps: 400 });
  const ours = await train(source, target, { method: 'jumbot', seed: 0, steps: 400 });
  const accS = accuracy(base, target);
  const accO = accuracy(ours, target);
  console.log(`  target accuracy: source-only ${(100 * accS).toFixed(1)} %, JUMBOT ${(100 * accO).toFixed(1)} %`);
  assert.ok(accuracy(base, source) > 0.95, 'the source is learnt');
  assert.ok(accS < 0.8, `the shift hurts the source-only model (${accS})`);
  assert.ok(accO > accS + 0.1, `JUMBOT ${accO} vs source-only ${accS}`);
});

test.run();
