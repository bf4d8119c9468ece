// Regenerates examples/data/clouds.json (committed): two 2D point clouds, a noisy ring and two moons,
// drawn with the library's seeded generator. Run: node dist/examples/make-data.js
import { writeFileSync } from 'node:fs';
import { Rng } from '../ts/rng.js';

const rng = new Rng(2026);
const n = 800;
const ring: number[][] = [];
for (let i = 0; i < n; i++) {
  const t = 2 * Math.PI * rng.uniform();
  const r = 1 + 0.08 * rng.normal();
  ring.push([r * Math.cos(t), r * Math.sin(t)]);
}
const moons: number[][] = [];
for (let i = 0; i < n; i++) {
  const t = Math.PI * rng.uniform();
  const upper = i % 2 === 0;
  const x = upper ? Math.cos(t) : 1 - Math.cos(t);
  const y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
  moons.push([x * 1.2 + 2.2 + 0.06 * rng.normal(), y * 1.2 - 0.3 + 0.06 * rng.normal()]);
}
const round = (p: number[]) => p.map((v) => Math.round(v * 1e5) / 1e5);
writeFileSync(
  new URL('../../examples/data/clouds.json', import.meta.url),
  JSON.stringify({ description: 'a noisy ring (source) and two moons (target), 800 points each, seed 2026', source: ring.map(round), target: moons.map(round) }) + '\n',
);
