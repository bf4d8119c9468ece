// The wasm backend's instance: loaded once per thread, from a source that bindings/ registers
// (a file in Node, a URL in browsers), so this module stays environment-agnostic.
import { OTError } from '../errors.js';
import type { Kernels } from './wasm-abi.js';

/** Exports of build/kantorovich.wasm (assembly/index.ts). Pointers are byte offsets into `memory`. */
export interface WasmExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
  [kernel: string]: unknown;
}

/**
 * The largest single allocation of AssemblyScript's TLSF allocator (2^30 bytes, less its header). A larger
 * request aborts inside wasm ('wasm abort at …'): WasmScope.alloc refuses it with 'too-large' instead.
 */
export const WASM_MAX_BLOCK = 2 ** 30 - 64;

/**
 * A wasm memory never shrinks: an instance that grew past this many bytes is retired once its last allocation
 * has been freed for WASM_IDLE_MS (the next solve gets a fresh instance of the compiled module, the old memory
 * goes with its last reference). Below it, instances are kept: re-instantiating costs ~1 ms, re-growing costs
 * nothing either, but small solves should not pay even that.
 */
export const WASM_RETAIN_BYTES = 64 * 2 ** 20;

/**
 * How long a grown instance may sit idle before it retires. Back-to-back large solves keep it (a threads
 * runtime's helpers cost tens of milliseconds to start again); an application that stops solving gets its
 * memory back a moment later, or at once with {@link releaseWasmMemory}.
 */
export const WASM_IDLE_MS = 2000;

/** Grown instances waiting out their idle time. */
const idleLarge = new Set<WasmKernels>();

/**
 * Retires now every wasm instance of this thread (and its threads runtime) that grew past 64 MiB and holds no allocation, instead of
 * after WASM_IDLE_MS: its memory is released once the engine references go. Solves in progress are not touched.
 */
export function releaseWasmMemory(): void {
  for (const k of [...idleLarge]) k.retireIfIdle();
}

/** Where the wasm bytes come from: bytes, a compiled module, or a fetch Response. */
export type WasmSource = () => Promise<BufferSource | WebAssembly.Module | Response>;

let source: WasmSource | undefined;
let loading: Promise<WasmKernels> | undefined;
let loadError: string | undefined;
/** The instance `loading` resolves to (undefined once retired). */
let current: WasmKernels | undefined;

/** Register how to obtain the wasm binary (bindings/ does this; call it yourself to host the file elsewhere). */
export function setWasmSource(s: WasmSource): void {
  source = s;
  loading = undefined;
  current = undefined;
  loadError = undefined;
  compiled = undefined;
}

/** The compiled module behind the loaded kernels: the worker pool hands it to its workers (ts/worker/pool.ts). */
let compiled: WebAssembly.Module | undefined;

/** The `env.abort` import every build of the module needs (AssemblyScript's failed assertions). */
export function wasmAbort(_msg: number, _file: number, line: number, col: number): never {
  throw new Error(`wasm abort at ${line}:${col}`);
}

/** A WasmSource's result as a compiled module (a fetch Response must be ok). */
export async function compileWasm(src: BufferSource | WebAssembly.Module | Response): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  if (typeof Response !== 'undefined' && src instanceof Response) {
    const where = src.url ? `${src.url} ` : '';
    const hint = 'host the binary there, or call setAssetBase(folderUrl) or setWasmSource(() => fetch(url))';
    if (!src.ok) throw new Error(`fetching the wasm ${where}failed: HTTP ${src.status}; ${hint}`);
    try {
      return await WebAssembly.compile(await src.arrayBuffer());
    } catch (e) {
      throw new Error(`the file at ${where || 'the wasm source '}is not the kantorovich binary (${(e as Error).message}); ${hint}`);
    }
  }
  return WebAssembly.compile(src as BufferSource);
}

async function instantiate(src: BufferSource | WebAssembly.Module | Response): Promise<WebAssembly.Instance> {
  const module = await compileWasm(src);
  const instance = await WebAssembly.instantiate(module, { env: { abort: wasmAbort } });
  compiled = module;
  return instance;
}

/**
 * The compiled module of this thread's wasm (loading it if needed), or undefined where it cannot load. The
 * pool sends it to each new worker, so workers run the binary that setWasmSource() chose here (custom
 * hosting included) without fetching or compiling it again.
 */
export async function wasmModule(): Promise<WebAssembly.Module | undefined> {
  try {
    await wasmKernels();
  } catch {
    return undefined;
  }
  return compiled;
}

/** The loaded kernels; rejects with 'backend-unavailable' (and the reason) when the wasm cannot load. */
export function wasmKernels(): Promise<WasmKernels> {
  if (!source) {
    return Promise.reject(
      new OTError('backend-unavailable', 'wasm: no binary source registered. Import the package entry (kantorovich) or call setWasmSource().'),
    );
  }
  loading ??= (async () => {
    try {
      const instance = await instantiate(compiled ?? (await source!()));
      const k = new WasmKernels(instance.exports as unknown as WasmExports);
      // retired after a large solve: the next call instantiates the compiled module afresh
      k.onIdle = () => {
        if (current === k) {
          loading = undefined;
          current = undefined;
        }
      };
      current = k;
      return k;
    } catch (e) {
      loadError = (e as Error).message;
      loading = undefined;
      throw new OTError('backend-unavailable', `wasm: could not load the binary (${loadError}).`);
    }
  })();
  return loading;
}

/** Why the wasm backend is unavailable, or undefined when it loaded (or was not tried yet). */
export function wasmUnavailableReason(): string | undefined {
  return source ? loadError : 'no binary source registered';
}

/**
 * Typed access to the instance. Views over `memory.buffer` are detached whenever memory grows, so take
 * them right before use, after the last allocation, never across one.
 */
export class WasmKernels {
  /** The kernels, typed by the ABI table (ts/backends/wasm-abi.ts). */
  readonly abi: Kernels;
  /** Allocations made through scopes and not yet freed. */
  private outstanding = 0;
  /** Set once the instance's memory passed WASM_RETAIN_BYTES and all its allocations were freed. */
  retired = false;
  /** Called when the instance retires (its owner stops handing it out). */
  onIdle?: () => void;
  constructor(readonly exports: WasmExports) {
    this.abi = exports as unknown as Kernels;
  }

  /** A kernel by its ABI name (typed: see ts/backends/wasm-abi.ts); a binary that lacks it is backend-unavailable (stale build). */
  fn<K extends keyof Kernels>(name: K): Kernels[K] {
    const f = this.exports[name];
    if (typeof f !== 'function') throw new OTError('backend-unavailable', `wasm: the binary lacks kernel '${name}' (stale build?).`);
    return f as Kernels[K];
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.exports.memory.buffer, ptr, length);
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.exports.memory.buffer, ptr, length);
  }

  /** An allocation scope: everything allocated through it is freed by `release()`. */
  scope(): WasmScope {
    return new WasmScope(this);
  }

  /** The size of the instance's memory in bytes (it only grows). */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** Bookkeeping of WasmScope: `count` allocations made (> 0) or freed (< 0). */
  track(count: number): void {
    this.outstanding += count;
    if (this.outstanding > 0) {
      this.cancelIdle();
    } else if (!this.retired && this.memoryBytes > WASM_RETAIN_BYTES && !this.idleTimer) {
      idleLarge.add(this);
      this.idleTimer = setTimeout(() => this.retireIfIdle(), WASM_IDLE_MS);
      // the wait must not keep a Node process alive
      (this.idleTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Retires the instance if it is large and holds no allocation (see WASM_RETAIN_BYTES). */
  retireIfIdle(): void {
    this.cancelIdle();
    if (this.outstanding === 0 && !this.retired && this.memoryBytes > WASM_RETAIN_BYTES) {
      this.retired = true;
      this.onIdle?.();
    }
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    idleLarge.delete(this);
  }
}

export class WasmScope {
  private ptrs: number[] = [];
  constructor(readonly k: WasmKernels) {}

  alloc(bytes: number): number {
    if (bytes > WASM_MAX_BLOCK) {
      throw new OTError('too-large', `wasm: one buffer of ${bytes} bytes is over the wasm allocator's limit of ${WASM_MAX_BLOCK} bytes (1 GiB) per buffer.`);
    }
    const p = this.k.exports.alloc(bytes) >>> 0; // wasm returns i32: addresses ≥ 2 GiB come back negative
    if (p === 0) throw new OTError('too-large', `wasm: could not allocate ${bytes} bytes.`);
    this.ptrs.push(p);
    this.k.track(1);
    return p;
  }

  /** Allocate n f64 slots (zeroed). */
  f64(n: number): number {
    const p = this.alloc(n * 8);
    this.k.f64(p, n).fill(0);
    return p;
  }

  i32(n: number): number {
    const p = this.alloc(n * 4);
    this.k.i32(p, n).fill(0);
    return p;
  }

  /** Allocate and copy a vector in. */
  put(x: ArrayLike<number>): number {
    const p = this.alloc(Math.max(1, x.length) * 8);
    this.k.f64(p, x.length).set(x);
    return p;
  }

  /** The order of `key` (i32 indices in wasm memory, owned by this scope): wasm's stable radix argsort. */
  argsort(key: Float64Array): number {
    const len = key.length;
    const idx = this.alloc(Math.max(1, len) * 4);
    this.k.abi.argsortF64(this.put(key), len, idx, this.alloc(Math.max(1, len) * 8), this.alloc(Math.max(1, len) * 4));
    return idx;
  }

  release(): void {
    for (const p of this.ptrs) this.k.exports.free(p);
    const freed = this.ptrs.length;
    this.ptrs = [];
    if (freed) this.k.track(-freed);
  }
}
