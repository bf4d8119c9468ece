/** Stable error codes: part of the public contract, never renamed. */
export type OTErrorCode =
  | 'shape'
  | 'nan'
  | 'negative'
  | 'mass'
  | 'empty'
  | 'too-large'
  | 'invalid-option'
  | 'backend-unavailable'
  | 'aborted'
  | 'device-lost'
  | 'numerical'
  | 'worker-crashed'
  | 'disposed'
  | 'not-fitted'
  | 'internal';

// 'numerical': an iteration left the range of floating point (e.g. scaling Sinkhorn at a tiny reg);
// the message names the stable alternative.
// 'disposed': an object (optimizer, tensor, engine) was used after dispose().
// 'not-fitted': an estimator (ts/da/) was asked to transform before fit().
// 'internal': a broken invariant inside the library (e.g. a WGSL compile failure); a bug to report.
// 'worker-crashed': the worker running the call died (exit or uncaught error); the pool has replaced it.

/** The one error class of the library: `code` is stable, `message` says what was wrong and how to fix it. */
export class OTError extends Error {
  /** What went wrong, as a stable string to branch on (the message is for people and may change). */
  readonly code: OTErrorCode;
  constructor(code: OTErrorCode, message: string) {
    super(message);
    this.name = 'OTError';
    this.code = code;
  }
}
