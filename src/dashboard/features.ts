/**
 * The admin endpoints a server has, which the page's views use: rendered by the server into
 * the page (index.ts), read by the client (client/api.ts). No imports: both sides type-check it.
 */
export interface DashboardFeatures {
  /** This server's PoP (or the network's first). */
  pop: string;
  network: boolean;
  kv: boolean;
  objects: boolean;
  tail: boolean;
  /** Deployed workers with their figures. */
  workers: boolean;
  /** A network of nodes' deployments (waves, rollback). */
  deployments: boolean;
  metrics: boolean;
}
