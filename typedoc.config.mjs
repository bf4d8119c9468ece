// TypeDoc: `npm run docs` writes the API reference to docs/api/ and FAILS (validation warnings are errors) on:
//   - an export without a doc comment (every function, class, interface, type, variable, property, method,
//     accessor and namespace reachable from the package root, option and result fields included);
//   - a broken {@link …};
//   - a type that a public signature uses but the package does not export (export it, or list it below with why).
// There is no baseline: a new export needs its doc comment in the same commit.

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'kantorovich',
  entryPoints: ['bindings/node.ts'],
  tsconfig: 'tsconfig.docs.json',
  out: 'docs/api',
  readme: 'README.md',
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  // Source links point at the public repository (package.json "repository"), whatever the clone's remote is.
  sourceLinkTemplate: 'https://github.com/kantorovich-js/kantorovich/blob/{gitRevision}/{path}#L{line}',
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: ['Function', 'Class', 'Interface', 'TypeAlias', 'Variable', 'Property', 'Method', 'Accessor', 'Namespace'],
  treatValidationWarningsAsErrors: true,
  // Types that public signatures mention but that are deliberately not part of the API:
  intentionallyNotExported: [
    // The registry's wrapper type of every solver function (the call signature plus an internal `descriptor` used
    // by the CLI, the worker dispatch and the README tables); exporting it would drag the option-schema machinery
    // (SolverDescriptor, Schema, OptionSpec) into the API. The call signature itself is documented on each solver.
    'SolverFunction',
    // Omit<T, 'seed'>: a sampler spec takes a sampler's options without `seed` (the training loop's Rng seeds it).
    'NoSeed',
    // { worker?: 'auto' | boolean }, the trainers' `worker` option: the same as the exported WorkerOptions.
    'WorkerOption',
  ],
};
