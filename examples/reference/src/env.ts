import type { DocumentRoom } from './room';

export interface Env {
  ORIGIN: string;
  FLAGS_KV: KVNamespace;
  USER_PREFS_KV: KVNamespace;
  PREFS_WRITES: RateLimit;
  ROOMS: DurableObjectNamespace<DocumentRoom>;
}
