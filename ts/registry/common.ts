// Options that many solvers share, declared once (their docs feed the README tables and the CLI).
import type { BackendName } from '../types.js';
import { type OptionSpec, anyOf, bool, func, num, oneOf, opt, signal } from './schema.js';

/** `worker`: where the call runs. Every solver has it; the dispatcher reads it. */
export const workerOption: OptionSpec = opt(
  oneOf('auto', true, false),
  "Run in a worker of the pool: 'auto' when the work estimate reaches 2^18 cost entries per pass, true always, false never.",
  "'auto'",
);

export const signalOption: OptionSpec = opt(signal, 'Abort the call (it rejects with OTError code aborted).');

export function progressOption(what: string): OptionSpec {
  return opt(func, `Called with progress reports (${what}); the last report arrives before the promise settles.`);
}

/**
 * `backend`, documented with the backends the solver implements. Any backend name passes the schema; one the
 * solver lacks is 'backend-unavailable' (ts/registry/define.ts checkCall), as is one unavailable here.
 */
export function backendOption(backends: readonly BackendName[]): OptionSpec {
  return opt(
    oneOf('auto', 'webgpu', 'wasm', 'js'),
    `Force a backend (${backends.join(', ')}); 'auto' picks the first available in the order webgpu → wasm → js.`,
    "'auto'",
  );
}

export const maxBytesOption: OptionSpec = opt(
  num({ gt: 0 }),
  'Memory budget in bytes for the buffers of this call; above it the call fails with too-large before any work.',
  '2 GiB',
);

export const threadsOption: OptionSpec = opt(
  anyOf(oneOf('auto'), num({ integer: true, min: 1 })),
  "wasm: threads that share each pass over the n × m work; 'auto' uses every core from 2^18 entries (a hint, never an error).",
  "'auto'",
);

export const massOptions = {
  normalize: opt(bool, 'Rescale b to the total mass of a instead of rejecting unequal masses.', 'false'),
  massTolerance: opt(num({ min: 0 }), 'Relative tolerance on |Σa − Σb| / max(Σa, Σb) before masses count as unequal.', '1e-9'),
} as const;
