// f64 views of raw linear memory, shared by the kernels that address host-allocated arrays by pointer.

@inline export function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}
@inline export function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
@inline export function st(p: usize, i: i32, x: f64): void {
  store<f64>(p + (<usize>i << 3), x);
}
/** Row r of a row-major matrix with `len` f64 per row. */
@inline export function row(p: usize, r: i32, len: i32): usize {
  return p + ((<usize>r * <usize>len) << 3);
}
