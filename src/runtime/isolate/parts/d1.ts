/** The D1 part (../parts.ts). */
import { D1Database } from '../bindings/d1.ts';
import { registerPart } from '../parts.ts';

registerPart('d1', { D1Database });
