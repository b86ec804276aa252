// Globals the prelude itself installs or that V8 provides without lib typings.
declare function setTimeout(fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]): number;
declare const WebAssembly: any;
declare function structuredClone<T>(value: T): T;
