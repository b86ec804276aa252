/** Made by the prelude's build (src/runtime/prelude-parts.ts): the modules the parts share. */
declare module 'outpost:part-modules' {
  export function partModules(): Record<string, Record<string, unknown>>;
}
