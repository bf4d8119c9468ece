// A tiny static file server for the demo page and the browser test: node:http on 127.0.0.1 only, serving
// the repository root (dist/, build/, examples/, tests/browser/, node_modules/comlink) with the MIME types
// browsers insist on for ES modules (text/javascript) and wasm streaming (application/wasm).
//
// No bundler: pages load /dist/bindings/browser.js as an ES module. Bare specifiers ('kantorovich', 'comlink')
// are resolved by an import map in the pages; module Web Workers do not see a page's import map, so the
// server also rewrites those bare specifiers in the JavaScript it serves (the same targets as BARE_IMPORTS).
//
// `npm run demo:web` (node dist/examples/web/serve.js [--port N]) serves the repository and prints the
// demo's URL. Programmatic use: `const s = await startServer(); … s.url … await s.close()`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';

/** The repository root: this file runs from dist/examples/web/. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** Bare specifiers the library or the pages may import, and where they live under the served root. */
export const BARE_IMPORTS: Record<string, string> = {
  kantorovich: '/dist/bindings/browser.js',
  comlink: '/node_modules/comlink/dist/esm/comlink.mjs',
};

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
};

/** Rewrites `from 'comlink'`, `import 'comlink'` and `import('comlink')` to the served paths. */
export function rewriteBareImports(source: string, map: Record<string, string> = BARE_IMPORTS): string {
  return source.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"./][^'"]*)\2/g, (all, head: string, q: string, spec: string) =>
    Object.prototype.hasOwnProperty.call(map, spec) ? `${head}${q}${map[spec]}${q}` : all,
  );
}

export interface ServerOptions {
  /** Folder to serve (default: the repository root). */
  root?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Log each request to stderr. */
  verbose?: boolean;
  /** Rewrite the bare specifiers of BARE_IMPORTS in served JavaScript (default true; see the header). */
  rewriteImports?: boolean;
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<StaticServer> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req, res) => {
    handle(root, req, res, opts.verbose ?? false, opts.rewriteImports ?? true).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse, verbose: boolean, rewrite: boolean): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  let file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) {
    res.writeHead(403).end();
    return;
  }
  let info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) {
    if (!path.endsWith('/')) {
      res.writeHead(301, { location: path + '/' }).end();
      return;
    }
    file = join(file, 'index.html');
    info = await stat(file).catch(() => undefined);
  }
  if (verbose) process.stderr.write(`${req.method} ${path}${info?.isFile() ? '' : ' (404)'}\n`);
  if (!info?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
    return;
  }
  const ext = extname(file).toLowerCase();
  let body: Buffer | string = await readFile(file);
  if (rewrite && (ext === '.js' || ext === '.mjs')) body = rewriteBareImports(body.toString('utf8'));
  res.writeHead(200, {
    'content-type': MIME[ext] ?? 'application/octet-stream',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // cross-origin isolation: shared memory for the wasm engine's helper threads (README: In the browser)
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

// Run directly: serve the repository and print the demo's URL.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const wanted = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 8787);
  let s: StaticServer;
  try {
    s = await startServer({ port: wanted, verbose: process.argv.includes('--verbose') });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    s = await startServer({ port: 0, verbose: process.argv.includes('--verbose') });
  }
  console.log(`kantorovich demo: ${s.url}examples/web/  (serving ${REPO_ROOT} on 127.0.0.1 only; Ctrl-C to stop)`);
  console.log('WebGPU in Chromium needs a secure context (127.0.0.1 is one) and, on Linux, often --enable-unsafe-webgpu.');
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
