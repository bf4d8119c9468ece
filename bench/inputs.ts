// What both bench drivers (run.ts, families.ts) share: the median, and the problems' inputs written as raw
// little-endian f64 files with a manifest for the Python side (pot_bench.py, pot_families.py).
import { mkdirSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';

export interface BenchInputs {
  id: string;
  kind: string;
  reps: number;
  params: Record<string, unknown>;
  arrays: Record<string, { data: Float64Array; shape: number[] }>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Writes every problem's arrays and `manifest.json` into `dir`; returns the manifest's path. */
export function writeInputs(dir: string, generator: string, list: BenchInputs[]): string {
  if (endianness() !== 'LE') throw new Error('the bench writes raw little-endian f64 files; this machine is big-endian');
  mkdirSync(dir, { recursive: true });
  const manifest = {
    generator,
    problems: list.map((p) => {
      const files: Record<string, { path: string; shape: number[] }> = {};
      for (const [name, arr] of Object.entries(p.arrays)) {
        const path = `${p.id}.${name}.f64`;
        writeFileSync(join(dir, path), new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength));
        files[name] = { path, shape: arr.shape };
      }
      return { id: p.id, kind: p.kind, reps: p.reps, params: p.params, files };
    }),
  };
  const path = join(dir, 'manifest.json');
  writeFileSync(path, JSON.stringify(manifest, null, 1));
  return path;
}
