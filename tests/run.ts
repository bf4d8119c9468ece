// Runs every tests/*.test.js file through uvu (as its CLI does) and ends with "N passed, N failed",
// the line CI reads.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

type Runner = () => Promise<[unknown, number, number, number]>;
const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: [string | null, ...Runner[]][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.js') && (!filter || f.includes(filter)))
  .sort();

for (let i = 0; i < files.length; i++) {
  g.UVU_QUEUE.push([files[i]]);
  g.UVU_INDEX = i;
  await import(pathToFileURL(join(here, files[i])).href);
}

let passed = 0;
let failed = 0;
for (const group of g.UVU_QUEUE) {
  for (let k = 1; k < group.length; k++) {
    const run = group[k] as Runner;
    group[k] = async () => {
      const r = await run();
      const [errs, ran, skipped, total] = r;
      passed += ran;
      failed += total - ran;
      void skipped;
      void errs;
      return r;
    };
  }
}

const { exec } = await import('uvu');
await exec();
console.log(`${passed} passed, ${failed} failed`);
