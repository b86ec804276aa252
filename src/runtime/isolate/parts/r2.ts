/** The R2 part (../parts.ts). */
import { R2Bucket } from '../bindings/r2.ts';
import { registerPart } from '../parts.ts';

registerPart('r2', { R2Bucket });
