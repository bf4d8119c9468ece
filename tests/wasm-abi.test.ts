// The TypeScript side of the wasm ABI against the binaries and the AssemblyScript sources: kernel names and
// arities (ts/backends/wasm-abi.ts), the simplex's return codes, and the entropic context's slot table
// (ts/backends/wasm-entropic.ts S mirrors the S_* constants of assembly/sinkhorn.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KERNEL_ARITY, KERNEL_GLOBALS, NS } from '../ts/backends/wasm-abi.js';
import { S, SLOTS } from '../ts/backends/wasm-entropic.js';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

function instance(file: string, shared = false): WebAssembly.Instance {
  const module = new WebAssembly.Module(readFileSync(root(file)));
  const env: Record<string, unknown> = { abort() {}, parallelRows() {} };
  if (shared) env.memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  return new WebAssembly.Instance(module, { env: env as WebAssembly.ModuleImports });
}

test('every kernel of the binary is in the ABI table with its arity, and nothing else is', () => {
  const ex = instance('build/kantorovich.wasm').exports as Record<string, unknown>;
  const fns = Object.entries(ex).filter(([, v]) => typeof v === 'function');
  for (const [name, f] of fns) {
    assert.ok(name in KERNEL_ARITY, `the binary exports '${name}', which ts/backends/wasm-abi.ts does not declare`);
    assert.is((f as (...a: unknown[]) => unknown).length, KERNEL_ARITY[name as keyof typeof KERNEL_ARITY], `${name}: arity`);
  }
  for (const name of Object.keys(KERNEL_ARITY)) assert.type(ex[name], 'function', `the table declares '${name}', which the binary lacks`);
  for (const name of KERNEL_GLOBALS) assert.instance(ex[name], WebAssembly.Global, `global ${name}`);
  assert.is((ex.NS_OPTIMAL as WebAssembly.Global).value, NS.optimal);
  assert.is((ex.NS_RUNNING as WebAssembly.Global).value, NS.running);
  assert.is((ex.NS_UNBOUNDED as WebAssembly.Global).value, NS.unbounded);
  assert.is((ex.ENT_SLOTS as WebAssembly.Global).value, SLOTS);
});

test('the threads build shares the kernels it has with the same arities', () => {
  const ex = instance('build/kantorovich-mt.wasm', true).exports as Record<string, unknown>;
  for (const [name, f] of Object.entries(ex)) {
    if (typeof f !== 'function' || !(name in KERNEL_ARITY)) continue;
    assert.is((f as (...a: unknown[]) => unknown).length, KERNEL_ARITY[name as keyof typeof KERNEL_ARITY], `${name}: arity in the threads build`);
  }
  assert.is((ex.ENT_SLOTS as WebAssembly.Global).value, SLOTS);
});

test("the entropic context's slot table matches assembly/sinkhorn.ts", () => {
  const src = readFileSync(root('assembly/sinkhorn.ts'), 'utf8');
  const slots = new Map<string, number>();
  for (const m of src.matchAll(/^const S_(\w+)(?::\s*i32)?\s*=\s*(\d+);/gm)) slots.set(m[1].replace(/_/g, '').toLowerCase(), Number(m[2]));
  assert.ok(slots.size >= 30, `read ${slots.size} S_* constants`);
  const seen = new Set<number>();
  for (const v of slots.values()) {
    assert.ok(v >= 0 && v < SLOTS, `slot ${v} within the ${SLOTS}-slot block`);
    assert.not.ok(seen.has(v), `slot ${v} is used twice`);
    seen.add(v);
  }
  for (const [key, v] of Object.entries(S)) {
    const as = slots.get(key.toLowerCase());
    assert.is(as, v, `slot '${key}': TypeScript ${v}, AssemblyScript ${as}`);
  }
});

test.run();
