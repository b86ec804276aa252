/** node:string_decoder (used by node:stream). */
export { StringDecoder } from 'string_decoder';
