/** Modules node:crypto, node:zlib and node:assert import from other extensions. */
declare module 'node:string_decoder' {
  export const StringDecoder: any;
}
