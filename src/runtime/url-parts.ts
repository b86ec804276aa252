/**
 * The components of a parsed URL in the order they cross into an isolate (the host's URL
 * syscalls in bridge/syscalls.ts, the isolate's fast path in isolate/url-fast.ts and URL class in
 * isolate/url.ts read them by this index).
 */
export const URL_PARTS = [
  'href',
  'origin',
  'protocol',
  'username',
  'password',
  'host',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;
