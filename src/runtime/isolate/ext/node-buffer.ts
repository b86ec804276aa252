/** node:buffer (nodejs_compat): the `buffer` package, Node's Buffer for other engines. */
export * from 'buffer';
export const Blob = (globalThis as any).Blob;
export const File = (globalThis as any).File;
export const atob = (globalThis as any).atob;
export const btoa = (globalThis as any).btoa;
