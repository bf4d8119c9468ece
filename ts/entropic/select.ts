// Which entropic engine runs a call: webgpu → wasm → js by availability and size, or the forced one.
import { OTError } from '../errors.js';
import type { BackendName, BackendOption } from '../types.js';
import { JsEntropicEngine } from '../backends/js/entropic.js';
import type { EngineProblem, EntropicCost, EntropicEngine, GridCost, PairCost } from './engine.js';

/** Creates an engine, or rejects with 'backend-unavailable' and the reason. */
export type EngineFactory = (problem: EngineProblem<PairCost>) => Promise<EntropicEngine>;

interface Registered {
  create: EngineFactory;
  /** Whether `auto` should pick this backend for a problem of n × m (e.g. webgpu only on hardware, when large). */
  preferFor: (n: number, m: number) => Promise<boolean>;
}

// The built-in engines. wasm and webgpu load lazily so a js-only call never compiles a module or opens Dawn.
const engines = new Map<BackendName, Registered>([
  [
    'webgpu',
    {
      create: async (p) => {
        const [{ gpuDevice }, { WebGpuEntropicEngine }] = await Promise.all([import('../backends/webgpu.js'), import('../../gpu/entropic.js')]);
        return WebGpuEntropicEngine.create(await gpuDevice(), p);
      },
      // f32 and dispatch overheads only pay off on hardware and on large problems; a software adapter
      // (lavapipe, SwiftShader) is slower than wasm, so auto never picks it — force it with { backend: 'webgpu' }.
      preferFor: async (n, m) => {
        if (n * m < 1 << 20) return false; // before the import: small calls in a loop pay nothing for it
        const { gpuIsHardware } = await import('../backends/webgpu.js');
        return gpuIsHardware();
      },
    },
  ],
  [
    'wasm',
    {
      create: async (p) => (await import('../backends/wasm-entropic.js')).WasmEntropicEngine.create(p, { threads: p.threads }),
      preferFor: async () => true,
    },
  ],
  ['js', { create: async (p) => new JsEntropicEngine(p), preferFor: async () => true }],
]);

/** Backends add their engine here (ts/index.ts wires the built-in ones). */
export function registerEngine(name: BackendName, create: EngineFactory, preferFor: Registered['preferFor']): void {
  engines.set(name, { create, preferFor });
}

const AUTO_ORDER: BackendName[] = ['webgpu', 'wasm', 'js'];

/** The backends with a registered entropic engine, in auto order (backends() reports them per solver). */
export function engineBackends(): BackendName[] {
  return AUTO_ORDER.filter((b) => engines.has(b)).concat([...engines.keys()].filter((b) => !AUTO_ORDER.includes(b)));
}

/** Engines created so far (the registry test asserts that a call with bad options creates none). */
export const engineCounters = { created: 0 };

/** Whether 'auto' would give an n × m problem to webgpu (hardware adapter, large problem; see preferFor above). */
export async function autoPrefersWebgpu(n: number, m: number): Promise<boolean> {
  const e = engines.get('webgpu');
  return !!e && (await e.preferFor(n, m).catch(() => false));
}

export async function createEngine(solver: string, problem: EngineProblem<EntropicCost>, requested: BackendOption = 'auto'): Promise<EntropicEngine> {
  engineCounters.created++;
  if (problem.cost.kind === 'grid') return gridEngine(solver, { ...problem, cost: problem.cost }, requested);
  return pairEngine(solver, problem as EngineProblem<PairCost>, requested);
}

async function pairEngine(solver: string, problem: EngineProblem<PairCost>, requested: BackendOption): Promise<EntropicEngine> {
  if (requested !== 'auto') {
    const e = engines.get(requested);
    if (!e) throw new OTError('backend-unavailable', `${solver}: backend '${requested}' is not available in this build (have: ${[...engines.keys()].join(', ')}).`);
    return e.create(problem);
  }
  const { n, m } = problem.cost;
  for (const name of AUTO_ORDER) {
    const e = engines.get(name);
    if (!e) continue;
    try {
      if (await e.preferFor(n, m)) return await e.create(problem);
    } catch (err) {
      // an unavailable backend in auto mode falls through to the next one; a bad input does not
      if (!(err instanceof OTError) || err.code !== 'backend-unavailable') throw err;
    }
  }
  throw new OTError('backend-unavailable', `${solver}: no entropic engine is available.`);
}

/** A grid's separable kernel has one engine so far (plain TS, f64): 'auto' and 'js' get it. */
async function gridEngine(solver: string, problem: EngineProblem<GridCost>, requested: BackendOption): Promise<EntropicEngine> {
  if (requested !== 'auto' && requested !== 'js') {
    throw new OTError('backend-unavailable', `${solver}: on a grid geometry the separable kernel runs on the js backend only (asked: '${requested}'); pass the grid's cost matrix (grid.dense()) to use ${requested}.`);
  }
  const { GridEntropicEngine } = await import('../backends/js/grid-entropic.js');
  return new GridEntropicEngine(problem);
}
