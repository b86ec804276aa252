export {
  type Assignment,
  applyVariants,
  assignVariants,
  VARIANT_HEADER,
  variantHeaderValue,
} from './assign.ts';
export { carriesVariant, varyOnVariant } from './vary.ts';
