/** node:string_decoder (used by node:stream). */
// biome-ignore lint/style/useNodejsImportProtocol: the npm package, not Node's module
export { StringDecoder } from 'string_decoder';
