// `npm run example:da`: deep domain adaptation with minibatch unbalanced OT (JUMBOT) on rotated two moons with a
// label shift (examples/da.ts has the task and the training). For 5 seeds it trains a classifier on the source
// alone and with JUMBOT's OT term, prints the target accuracy of both (mean ± std) and writes the decision
// boundaries of seed 0 to examples/out/deep-da.svg.
//   node dist/examples/deep-da.js [seeds = 5] [steps = 500]
import { mkdirSync, writeFileSync } from 'node:fs';
import { neural } from 'kantorovich';
import { type Classifier, type Domain, accuracy, logits, makeTask, train } from './da.js';

const SEEDS = Number(process.argv[2] ?? 5);
const STEPS = Number(process.argv[3] ?? 500);

function meanStd(v: number[]): string {
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, v.length - 1));
  return `${(100 * m).toFixed(1)} ± ${(100 * sd).toFixed(1)}`;
}

/** One panel: the predicted class on a grid (background) and the target points in their true class colours. */
function panel(model: Classifier, target: Domain, title: string, ox: number): string {
  const S = 300;
  const [lo, hi] = [-2, 2];
  const G = 60;
  const grid = new Float64Array(G * G * 2);
  for (let r = 0; r < G; r++)
    for (let c = 0; c < G; c++) {
      grid[2 * (r * G + c)] = lo + ((c + 0.5) / G) * (hi - lo);
      grid[2 * (r * G + c) + 1] = hi - ((r + 0.5) / G) * (hi - lo);
    }
  const Z = neural.noGrad(() => logits(model, neural.tensor(grid, [G * G, 2]))).data;
  const cell = S / G;
  let out = `<g transform="translate(${ox},24)">`;
  for (let k = 0; k < G * G; k++) {
    const fill = Z[2 * k + 1] > Z[2 * k] ? '#f6d5b8' : '#c9d9ec';
    out += `<rect x="${((k % G) * cell).toFixed(1)}" y="${(Math.floor(k / G) * cell).toFixed(1)}" width="${cell + 0.2}" height="${cell + 0.2}" fill="${fill}"/>`;
  }
  const px = (v: number) => (((v - lo) / (hi - lo)) * S).toFixed(1);
  const py = (v: number) => (((hi - v) / (hi - lo)) * S).toFixed(1);
  for (let i = 0; i < target.y.length; i++) {
    const fill = target.y[i] === 1 ? '#d9822b' : '#2f5f98';
    out += `<circle cx="${px(target.X[2 * i])}" cy="${py(target.X[2 * i + 1])}" r="2" fill="${fill}"/>`;
  }
  return out + `<text x="0" y="-8" font-family="sans-serif" font-size="13">${title}</text></g>`;
}

const src: number[] = [];
const ours: number[] = [];
const t0 = performance.now();
let pictures = '';
for (let seed = 0; seed < SEEDS; seed++) {
  const { source, target } = makeTask({ seed });
  const a = await train(source, target, { method: 'source', seed, steps: STEPS });
  const b = await train(source, target, { method: 'jumbot', seed, steps: STEPS });
  src.push(accuracy(a, target));
  ours.push(accuracy(b, target));
  console.log(`seed ${seed}: target accuracy source-only ${(100 * src[seed]).toFixed(1)} %, JUMBOT ${(100 * ours[seed]).toFixed(1)} %  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if (seed === 0) {
    pictures =
      panel(a, target, `source only: ${(100 * src[0]).toFixed(1)} % on the target`, 10) +
      panel(b, target, `JUMBOT: ${(100 * ours[0]).toFixed(1)} % on the target`, 330);
  }
}
console.log(`\n| method | target accuracy (%), ${SEEDS} seeds |\n|---|---|\n| source only | ${meanStd(src)} |\n| JUMBOT (minibatch unbalanced OT) | ${meanStd(ours)} |`);
const out = new URL('../../examples/out/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(
  new URL('deep-da.svg', out),
  `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="334"><rect width="100%" height="100%" fill="white"/>${pictures}</svg>\n`,
);
console.log('Wrote examples/out/deep-da.svg (target points in their true classes over the predicted regions)');
