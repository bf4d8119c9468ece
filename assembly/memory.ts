// Raw allocation for the host: every kernel works on plain f64/i32 arrays that the
// TypeScript side places in linear memory through these two calls (no GC objects cross the boundary).
export function alloc(bytes: usize): usize {
  const ptr = heap.alloc(bytes < 8 ? 8 : bytes);
  return ptr;
}

export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}
