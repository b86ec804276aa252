// Environment for processes that host isolates (the CLI, tests, benchmarks).
//
// glibc serves large allocations with fresh mmaps and unmaps them on free, so every new
// ArrayBuffer of a body pays first-touch page faults; on the VMs measured here that is ~18 µs
// per 4 KiB page (~4.5 ms per MB), billed to the tenant as isolate CPU. Keeping freed memory
// for reuse cut an 8 MiB response from ~100 ms to ~30 ms of CPU. The cost: RSS does not shrink
// after a spike. Values the user already set win.
export const MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(1024 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(64 * 1024 * 1024),
};

export function hostEnv(base = process.env) {
  return { ...MALLOC_ENV, ...base };
}
