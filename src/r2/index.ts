// The R2 storage part (docs/r2.md): buckets on disk, and the shapes, limits and errors of R2.
export {
  type ConditionalFields,
  type ConditionalHeaders,
  checkRange,
  conditionalFromFields,
  conditionalFromHeaders,
  parseEtagHeader,
} from './conditions.ts';
export { R2_LIMITS, R2Error, R2InputError, STORAGE_CLASSES } from './limits.ts';
export { R2Buckets, type R2BucketsOptions } from './store.ts';
export {
  HASH_FIELDS,
  type HashField,
  type R2Body,
  type R2Conditional,
  type R2GetOptions,
  type R2GetResult,
  type R2HexChecksums,
  type R2HttpFields,
  type R2ListOptions,
  type R2ListResult,
  type R2MultipartOptions,
  type R2ObjectMeta,
  type R2PutOptions,
  type R2RangeRequest,
  type R2UploadedPart,
} from './types.ts';
