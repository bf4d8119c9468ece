// `npm run example:flow`: a Sinkhorn-divergence gradient flow (Feydy et al. 2019). The ring of the bundled clouds
// flows to the two moons by gradient descent on S_ε(X, Y) w.r.t. the points X (neural.sinkhornLoss: the value from the
// solver, the gradient from its potentials). Writes one SVG frame per stage to demo-output/flow/ and prints S_ε.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { neural } from 'kantorovich';

const { parameter, tensor, grad, sinkhornLoss } = neural;
const data = JSON.parse(readFileSync(new URL('../../examples/data/clouds.json', import.meta.url), 'utf8')) as { source: number[][]; target: number[][] };
// every third point of each cloud: a laptop runs the flow in well under a minute
const source = data.source.filter((_, i) => i % 3 === 0);
const target = data.target.filter((_, i) => i % 3 === 0);
const n = source.length;
const X = parameter(source.flat(), [n, 2]);
const Y = tensor(target.flat(), [target.length, 2]);
const STEPS = Number(process.argv[2] ?? 40);
const LR = 0.1; // per point: the gradient of S_ε w.r.t. a point carries its weight 1/n, so the step is n·LR·∇
const FRAMES = new Set([0, 2, 5, 10, 20, STEPS]);

const out = new URL('../../demo-output/flow/', import.meta.url);
mkdirSync(out, { recursive: true });
const all = [...data.source, ...data.target];
const lo = [Math.min(...all.map((p) => p[0])), Math.min(...all.map((p) => p[1]))];
const hi = [Math.max(...all.map((p) => p[0])), Math.max(...all.map((p) => p[1]))];
const S = 360;
// ε in units of the cost: a small fraction of the squared diameter (a blur of ~2 % of the picture)
const REG = 5e-4 * ((hi[0] - lo[0]) ** 2 + (hi[1] - lo[1]) ** 2);
const px = (v: number, k: number) => (20 + ((v - lo[k]) / (hi[k] - lo[k])) * (S - 40)).toFixed(1);

function frame(step: number, loss: number): void {
  const dots = (P: Float64Array, fill: string) =>
    Array.from({ length: P.length / 2 }, (_, i) => `<circle cx="${px(P[2 * i], 0)}" cy="${px(P[2 * i + 1], 1)}" r="1.8" fill="${fill}"/>`).join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S + 24}"><rect width="100%" height="100%" fill="white"/>` +
    dots(Y.data, '#f4a259') + dots(X.data, '#3b6ea8') +
    `<text x="10" y="${S + 16}" font-family="sans-serif" font-size="12">step ${step}: S_ε = ${loss.toExponential(3)}</text></svg>\n`;
  writeFileSync(new URL(`step-${String(step).padStart(3, '0')}.svg`, out), svg);
}

const t0 = performance.now();
for (let step = 0; step <= STEPS; step++) {
  const L = await sinkhornLoss(X, Y, { reg: REG, tol: 1e-6 });
  const loss = L.item();
  if (FRAMES.has(step)) {
    frame(step, loss);
    console.log(`step ${String(step).padStart(3)}  S_ε = ${loss.toExponential(4)}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  if (step === STEPS) break;
  const [g] = grad(L, [X]);
  for (let i = 0; i < X.size; i++) X.data[i] -= n * LR * g.data[i];
}
console.log(`Wrote demo-output/flow/step-*.svg`);
