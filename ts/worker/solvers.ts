// What a worker runs for a solver name: the registry's in-process run (inside a worker nothing is offloaded),
// its result as plain data where it is not (the neural trainers' models).
import { OTError } from '../errors.js';
import { solverDescriptor } from '../registry/registry.js';

export async function runSolver(name: string, args: unknown[]): Promise<unknown> {
  const d = solverDescriptor(name);
  if (!d) throw new OTError('invalid-option', `The worker has no solver '${name}'.`);
  const result = await d.run(...args);
  return d.crossing ? d.crossing.toPlain(result as never) : result;
}
