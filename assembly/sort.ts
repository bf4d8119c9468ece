// Sorting of f64 keys for the 1D and sliced solvers: a stable LSD radix sort on the order-preserving
// u64 image of the f64 bits (11-bit digits, 6 passes at most; a pass whose digit is the same for every key is
// skipped). All arrays are raw pointers into linear memory that the host allocated.

const DIGIT_BITS: u32 = 11;
const BUCKETS: i32 = 1 << DIGIT_BITS;
const MASK: u64 = <u64>(BUCKETS - 1);
const PASSES: i32 = 6; // ceil(64 / 11)
// Below this size insertion sort beats six histogram passes (and it is stable too).
const SMALL: i32 = 48;

// The six digit histograms, filled in one read of the keys. Static: the module is single-threaded.
const HIST: usize = memory.data(PASSES * BUCKETS * 4, 16);

/** f64 → u64 whose unsigned order is the numeric order. −0 is mapped as +0 so that ±0 tie, as in a JS comparator. */
// @ts-ignore: decorator
@inline export function toKey(x: f64): u64 {
  const u = reinterpret<u64>(x + 0.0);
  // negatives: flip every bit (reverses their order); positives: set the sign bit (puts them above)
  return u ^ (<u64>(<i64>u >> 63) | 0x8000000000000000);
}

// @ts-ignore: decorator
@inline export function fromKey(k: u64): f64 {
  return reinterpret<f64>(k ^ (<u64>(<i64>~k >> 63) | 0x8000000000000000));
}

/** Fill the histograms from keys already transformed; returns nothing, counts are in HIST. */
function histogram(keys: usize, n: i32): void {
  memory.fill(HIST, 0, <usize>(PASSES * BUCKETS * 4));
  for (let i = 0; i < n; i++) {
    const k = load<u64>(keys + (<usize>i << 3));
    for (let p = 0; p < PASSES; p++) {
      const h = HIST + (<usize>(p * BUCKETS) << 2) + (<usize>((k >> (<u64>(p * DIGIT_BITS))) & MASK) << 2);
      store<u32>(h, load<u32>(h) + 1);
    }
  }
}

/** Turn histogram p into start offsets; false when the digit is constant (the pass would be the identity). */
function offsets(p: i32, firstKey: u64, n: i32): bool {
  const h = HIST + (<usize>(p * BUCKETS) << 2);
  const d = <usize>((firstKey >> (<u64>(p * DIGIT_BITS))) & MASK);
  if (load<u32>(h + (d << 2)) == <u32>n) return false;
  let sum: u32 = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = load<u32>(h + (<usize>b << 2));
    store<u32>(h + (<usize>b << 2), sum);
    sum += c;
  }
  return true;
}

function insertionSortKeys(keys: usize, n: i32): void {
  for (let i = 1; i < n; i++) {
    const k = load<u64>(keys + (<usize>i << 3));
    let j = i - 1;
    while (j >= 0 && load<u64>(keys + (<usize>j << 3)) > k) {
      store<u64>(keys + (<usize>(j + 1) << 3), load<u64>(keys + (<usize>j << 3)));
      j--;
    }
    store<u64>(keys + (<usize>(j + 1) << 3), k);
  }
}

function insertionSortKeysIdx(keys: usize, idx: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(idx + (<usize>i << 2), i);
  for (let i = 1; i < n; i++) {
    const k = load<u64>(keys + (<usize>i << 3));
    let j = i - 1;
    while (j >= 0 && load<u64>(keys + (<usize>j << 3)) > k) {
      store<u64>(keys + (<usize>(j + 1) << 3), load<u64>(keys + (<usize>j << 3)));
      store<i32>(idx + (<usize>(j + 1) << 2), load<i32>(idx + (<usize>j << 2)));
      j--;
    }
    store<u64>(keys + (<usize>(j + 1) << 3), k);
    store<i32>(idx + (<usize>(j + 1) << 2), i);
  }
}

function encode(x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const q = x + (<usize>i << 3);
    store<u64>(q, toKey(load<f64>(q)));
  }
}

function decode(x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const q = x + (<usize>i << 3);
    store<f64>(q, fromKey(load<u64>(q)));
  }
}

/** Sort x[0..n) ascending in place. tmp: n f64 of scratch. */
export function sortF64(x: usize, n: i32, tmp: usize): void {
  encode(x, n);
  if (n <= SMALL) {
    insertionSortKeys(x, n);
  } else {
    histogram(x, n);
    const first = load<u64>(x);
    let src = x;
    let dst = tmp;
    for (let p = 0; p < PASSES; p++) {
      if (!offsets(p, first, n)) continue;
      const h = HIST + (<usize>(p * BUCKETS) << 2);
      const shift = <u64>(p * DIGIT_BITS);
      for (let i = 0; i < n; i++) {
        const k = load<u64>(src + (<usize>i << 3));
        const slot = h + (<usize>((k >> shift) & MASK) << 2);
        const pos = load<u32>(slot);
        store<u32>(slot, pos + 1);
        store<u64>(dst + (<usize>pos << 3), k);
      }
      const t = src;
      src = dst;
      dst = t;
    }
    if (src != x) memory.copy(x, src, <usize>n << 3);
  }
  decode(x, n);
}

/**
 * Stable argsort: sorts x[0..n) ascending in place and writes to idx the original index of each sorted
 * entry (ties keep their original order). tmpKeys: n f64, tmpIdx: n i32 of scratch.
 */
export function argsortF64(x: usize, n: i32, idx: usize, tmpKeys: usize, tmpIdx: usize): void {
  encode(x, n);
  if (n <= SMALL) {
    insertionSortKeysIdx(x, idx, n);
  } else {
    histogram(x, n);
    const first = load<u64>(x);
    let src = x;
    let dst = tmpKeys;
    let srcI = idx;
    let dstI = tmpIdx;
    let moved = false; // before the first pass the index of entry i is i itself: no need to initialize idx
    for (let p = 0; p < PASSES; p++) {
      if (!offsets(p, first, n)) continue;
      const h = HIST + (<usize>(p * BUCKETS) << 2);
      const shift = <u64>(p * DIGIT_BITS);
      for (let i = 0; i < n; i++) {
        const k = load<u64>(src + (<usize>i << 3));
        const slot = h + (<usize>((k >> shift) & MASK) << 2);
        const pos = load<u32>(slot);
        store<u32>(slot, pos + 1);
        store<u64>(dst + (<usize>pos << 3), k);
        store<i32>(dstI + (<usize>pos << 2), moved ? load<i32>(srcI + (<usize>i << 2)) : i);
      }
      moved = true;
      let t = src;
      src = dst;
      dst = t;
      t = srcI;
      srcI = dstI;
      dstI = t;
    }
    if (!moved) {
      for (let i = 0; i < n; i++) store<i32>(idx + (<usize>i << 2), i);
    } else if (src != x) {
      memory.copy(x, src, <usize>n << 3);
      memory.copy(idx, srcI, <usize>n << 2);
    }
  }
  decode(x, n);
}

/** dst[i] = src[idx[i]]: carries weights into sorted order. */
export function gatherF64(src: usize, idx: usize, n: i32, dst: usize): void {
  for (let i = 0; i < n; i++) {
    const j = load<i32>(idx + (<usize>i << 2));
    store<f64>(dst + (<usize>i << 3), load<f64>(src + (<usize>j << 3)));
  }
}
