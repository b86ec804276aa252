/**
 * One firing per tick across processes: with `--nats`, several `outpost dev` processes (or,
 * later, nodes) may serve the same worker, each with its own scheduler. Before a scheduler fires
 * a cron, it claims the firing — worker, cron and scheduled minute — by creating its key in a
 * JetStream KV bucket; `create` succeeds for exactly one process (the others get "wrong last
 * sequence"), so exactly one runs it. Keys expire after a day (the bucket's max age).
 *
 * When NATS cannot be reached the claim fails open (the firing runs here, logged): a missed
 * tick is worse than a doubled one for most crons, and at-least-once is what Workers promises.
 */

import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers } from '../config/index.ts';

const BUCKET = 'outpost_cron_claims';
const DAY_MS = 86_400_000;

export class NatsCronClaims {
  readonly #nc: NatsConnection;
  readonly #kv: KV;

  private constructor(nc: NatsConnection, kv: KV) {
    this.#nc = nc;
    this.#kv = kv;
  }

  /** `replicas`: of the claims bucket when this makes it (3 on a three-server cluster). */
  static async connect(servers: string, replicas = 1): Promise<NatsCronClaims> {
    const nc = await connect({ servers: natsServers(servers), name: 'outpost-cron' });
    try {
      // Made (or found) with a long timeout; used with a short one.
      const kv = await jetStreamSetup('the cron claims bucket', async () => {
        await new Kvm(jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS })).create(BUCKET, {
          ttl: DAY_MS,
          history: 1,
          replicas,
        });
        return new Kvm(jetstream(nc, { timeout: 5000 })).open(BUCKET);
      });
      return new NatsCronClaims(nc, kv);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** The key of one firing (KV keys allow few characters: a hash of what names it). */
  static keyOf(worker: string, cron: string, scheduledTime: number): string {
    return createHash('sha256').update(`${worker}\n${cron}\n${scheduledTime}`).digest('hex');
  }

  /**
   * True when this process won the firing. `onError` hears about a claim that could not be
   * made (the firing then runs here).
   */
  async claim(
    worker: string,
    cron: string,
    scheduledTime: number,
    onError?: (err: Error) => void,
  ): Promise<boolean> {
    try {
      await this.#kv.create(NatsCronClaims.keyOf(worker, cron, scheduledTime), '1');
      return true;
    } catch (err) {
      const message = (err as Error)?.message ?? '';
      if (/wrong last sequence|key exists/i.test(message)) return false;
      onError?.(err as Error);
      return true;
    }
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
