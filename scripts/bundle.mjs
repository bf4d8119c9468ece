// The pre-bundled browser scripts (after tsc, from dist/): comlink inlined, no bare imports left, so they
// load from a plain page, a CDN, or as assets a bundler copies verbatim.
//   build/kantorovich-worker.js       the pool's module Web Worker   (bindings/worker-browser.ts)
//   build/kantorovich-wasm-helper.js  a wasm engine helper thread    (bindings/wasm-helper-browser.ts)
//   dist/kantorovich.browser.js       the whole library as one ES module, for <script type="module">
// Each asset URL in bindings/browser.ts is written relative to dist/bindings/; the bundles live elsewhere,
// so the prefix '../../build/' is rewritten to the bundle's own distance to build/.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const jobs = [
  { entry: 'dist/bindings/worker-browser.js', out: 'build/kantorovich-worker.js', prefix: './' },
  { entry: 'dist/bindings/wasm-helper-browser.js', out: 'build/kantorovich-wasm-helper.js', prefix: './' },
  { entry: 'dist/bindings/browser.js', out: 'dist/kantorovich.browser.js', prefix: '../build/' },
];
const version = JSON.parse(readFileSync(root + 'package.json', 'utf8')).version;

for (const j of jobs) {
  await build({
    absWorkingDir: root,
    entryPoints: [j.entry],
    outfile: j.out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    banner: { js: `/*! kantorovich ${version} (MIT), with comlink (Apache-2.0, Google LLC) */` },
    logLevel: 'warning',
  });
  const file = root + j.out;
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replaceAll('"../../build/', `"${j.prefix}`);
  if (/(?:from|import)\s*["'](?!\.)[^"']+["']/.test(rewritten.replace(/\/\*[\s\S]*?\*\//g, '')))
    throw new Error(`${j.out} still imports a bare module name`);
  writeFileSync(file, rewritten);
}
