/** An object in memory: its isolate and storage (one per id in the process; across nodes, one in the network). */
import type { ReplicatedStorage } from './cluster/index.ts';
import type { ObjectInstance } from './host.ts';
import type { StagedStorage } from './staged.ts';

export interface Live {
  key: string;
  namespace: string;
  id: string;
  pop: string;
  instance: ObjectInstance;
  storage: StagedStorage;
  /** In a network of nodes: the replicated storage under `storage` (its output gate). */
  replicated: ReplicatedStorage | null;
  lastUsed: number;
}
