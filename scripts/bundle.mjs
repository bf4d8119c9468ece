// The pre-bundled browser scripts (after tsc, from dist/): comlink inlined, no bare imports left, so they
// load from a plain page, a CDN, or as assets a bundler copies verbatim.
//   build/kantorovich-worker.js       the whole library as one ES module, and the pool's module Web Worker when a
//                                     worker starts it (bindings/browser-bundle.ts: one copy of the library)
//   build/kantorovich-wasm-helper.js  a wasm engine helper thread    (bindings/wasm-helper-browser.ts)
//   dist/kantorovich.browser.js       a one-line re-export of the former, for <script type="module"> and CDNs
// Each asset URL in bindings/browser.ts is written relative to dist/bindings/; the bundles live elsewhere,
// so the prefix '../../build/' is rewritten to the bundle's own distance to build/.
//
// First, comlink is vendored: its ES module, Node adapter and declarations are copied to dist/vendor/ (with
// its Apache-2.0 licence) and dist's imports of 'comlink' point there, so the package has one dependency
// fewer and a consumer's node_modules 560 kB less (comlink ships UMD, ESM, minified copies, maps, sources
// and tests; we need 13 kB of it). comlink stays a devDependency, so `tsc` alone still gives working dist/.
import { build, transformSync } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// ---- comlink → dist/vendor/ ----
const comlinkDir = dirname(dirname(dirname(createRequire(root + 'package.json').resolve('comlink'))));
const vendor = join(root, 'dist', 'vendor');
mkdirSync(vendor, { recursive: true });
// the code unchanged, less the comments that point at source maps we do not ship
const noMap = (f) => readFileSync(join(comlinkDir, f), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
writeFileSync(join(vendor, 'comlink.js'), noMap('dist/esm/comlink.mjs'));
writeFileSync(join(vendor, 'comlink-node-adapter.js'), noMap('dist/esm/node-adapter.mjs'));
writeFileSync(join(vendor, 'comlink.d.ts'), readFileSync(join(comlinkDir, 'dist/esm/comlink.d.ts'), 'utf8').replaceAll('"./protocol"', '"./protocol.js"'));
copyFileSync(join(comlinkDir, 'dist/esm/protocol.d.ts'), join(vendor, 'protocol.d.ts'));
copyFileSync(join(comlinkDir, 'LICENSE'), join(vendor, 'COMLINK-LICENSE'));
writeFileSync(join(vendor, 'README.md'), `comlink ${JSON.parse(readFileSync(join(comlinkDir, 'package.json'), 'utf8')).version} (https://github.com/GoogleChromeLabs/comlink), Apache-2.0 (COMLINK-LICENSE), copied by scripts/bundle.mjs (code unchanged; source-map comments removed).\n`);

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      // what ships (ts, gpu, bindings); tests, benchmarks and examples keep comlink from node_modules (the
      // tests also write it into child-process scripts, which relative vendor paths would break)
      if (p !== vendor && !['tests', 'bench', 'examples'].includes(relative(join(root, 'dist'), p))) yield* files(p);
    } else if (p.endsWith('.js') || p.endsWith('.d.ts')) yield p;
  }
}
for (const f of files(join(root, 'dist'))) {
  const text = readFileSync(f, 'utf8');
  if (!text.includes('comlink')) continue;
  let rel = relative(dirname(f), vendor).split(sep).join('/');
  if (!rel.startsWith('.')) rel = './' + rel;
  const out = text
    .replace(/(from\s*|import\s*\(\s*|import\s+)(['"])comlink\/dist\/esm\/node-adapter\.mjs\2/g, `$1$2${rel}/comlink-node-adapter.js$2`)
    .replace(/(from\s*|import\s*\(\s*|import\s+)(['"])comlink\2/g, `$1$2${rel}/comlink.js$2`);
  if (out !== text) writeFileSync(f, out);
}

// ---- the shipped JavaScript, compact ----
// The doc comments live on in the .d.ts files (editors and the API site read those); in the .js files they and the
// indentation and local names are more than half the bytes a consumer installs (the 2 MB install budget). esbuild
// minifies each module on its own: exported names stay (the module graph and the public API are unchanged), local
// ones shrink; the tests run on these same files. The CLI's hashbang stays.
for (const f of files(join(root, 'dist'))) {
  if (!f.endsWith('.js')) continue;
  const opts = { loader: 'js', format: 'esm', legalComments: 'none', minifyWhitespace: true, minifySyntax: true, minifyIdentifiers: true };
  writeFileSync(f, transformSync(readFileSync(f, 'utf8'), opts).code);
}

// ---- declarations the public types never reach stay out of the tarball ----
// (npm applies a .npmignore below the root even with a `files` list.) A CPU/browser install stays under 2 MB:
// each small file costs a 4 kB block on disk, and about 40 of the declarations describe internals only.
{
  const reached = new Set();
  const stack = ['bindings/node.d.ts', 'bindings/browser.d.ts'].map((f) => join(root, 'dist', f));
  while (stack.length) {
    const f = stack.pop();
    if (reached.has(f) || !existsSync(f)) continue;
    reached.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
      const p = join(dirname(f), m[1]);
      stack.push(p.endsWith('.js') ? p.slice(0, -3) + '.d.ts' : p.endsWith('.d.ts') ? p : p + '.d.ts');
    }
  }
  const shipped = ['ts', 'gpu', 'bindings'].map((d) => join(root, 'dist', d));
  const unreached = [...files(join(root, 'dist'))]
    .filter((f) => f.endsWith('.d.ts') && shipped.some((d) => f.startsWith(d + sep)) && !reached.has(f))
    .map((f) => '/' + relative(join(root, 'dist'), f).split(sep).join('/'));
  writeFileSync(join(root, 'dist', '.npmignore'), `# written by scripts/bundle.mjs: declarations no public type reaches\n${unreached.join('\n')}\n`);
}

// ---- the browser bundles ----
const jobs = [
  { entry: 'dist/bindings/browser-bundle.js', out: 'build/kantorovich-worker.js', prefix: './' },
  { entry: 'dist/bindings/wasm-helper-browser.js', out: 'build/kantorovich-wasm-helper.js', prefix: './' },
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
writeFileSync(
  root + 'dist/kantorovich.browser.js',
  `/*! kantorovich ${version} (MIT): the library for pages and CDNs, in build/kantorovich-worker.js */\nexport * from '../build/kantorovich-worker.js';\n`,
);
