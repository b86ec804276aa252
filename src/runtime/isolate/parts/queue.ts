/** The Queues producer's part (../parts.ts); a consumer's MessageBatch stays in the prelude. */
import { Queue } from '../bindings/queue.ts';
import { registerPart } from '../parts.ts';

registerPart('queue', { Queue });
