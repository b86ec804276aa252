/**
 * An object's storage on the node that owns it in a network: the same SQLite database as
 * everywhere (storage.ts), with each change also pushed to the object's journal (journal.ts),
 * which replicates it through JetStream. The change is applied locally first (storage calls are
 * synchronous for the object, src/runtime/isolate/durable.ts); nothing the object says leaves
 * before `gate()` resolves, so a change is acknowledged only once it is replicated. If
 * replication fails, the object is dropped with its local copy, which the next owner never
 * reads: it rebuilds from the journal (restore.ts).
 */
import { DO_LIMITS } from '../limits.ts';
import { ObjectStorage, type SqlResult, sqlBindings } from '../storage.ts';
import type { JournalWriter } from './journal.ts';
import { repeatable, schemaRepeatable, stateful } from './records.ts';

export class ReplicatedStorage extends ObjectStorage {
  journal: JournalWriter | null = null;
  /** Until when this node's lease lets it answer for the object (ms; set by the cluster). */
  leaseUntil = 0;

  constructor(
    file: string,
    namespace: string,
    maxBytes: number = DO_LIMITS.MAX_DATABASE_BYTES,
    /** The lease's margin: the object stops answering this long before its lease runs out. */
    readonly marginMs = 0,
  ) {
    super(file, namespace, maxBytes, false);
  }

  #push(op: Parameters<JournalWriter['push']>[0]): void {
    if (!this.journal) throw new Error('replicated storage has no journal');
    this.journal.push(op);
  }

  override write(puts: [string, Uint8Array][], deletes: string[]): number {
    const n = super.write(puts, deletes);
    if (puts.length > 0 || deletes.length > 0) this.#push({ t: 'kv', puts, dels: deletes });
    return n;
  }

  /**
   * Whether the schema makes writes unrepeatable (a DEFAULT CURRENT_TIMESTAMP, a trigger calling
   * random()): known until a statement that may change the schema runs.
   */
  #schemaRepeatable: boolean | null = null;

  override sql(query: string, bindings: unknown[]): SqlResult {
    const before = this.dataVersion();
    const mayChange = stateful(query);
    let ok = false;
    try {
      const r = super.sql(query, bindings);
      ok = true;
      return r;
    } finally {
      const changed = this.dataVersion() !== before;
      if (changed || (ok && mayChange)) {
        if (mayChange) this.#schemaRepeatable = null;
        // Replayed as text when that gives the same result; otherwise (an unrepeatable function
        // in it or in the schema, or a query that failed after changing something) as the image
        // it left.
        const replay = ok && repeatable(query) && this.#schemaIsRepeatable();
        this.#push(
          replay ? { t: 'sql', q: query, b: sqlBindings(bindings) } : { t: 'image', db: this.image() },
        );
      }
    }
  }

  #schemaIsRepeatable(): boolean {
    if (this.#schemaRepeatable === null) this.#schemaRepeatable = schemaRepeatable(this.schema());
    return this.#schemaRepeatable;
  }

  override setAlarm(at: number | null): void {
    super.setAlarm(at);
    this.#push({ t: 'alarm', at });
  }

  override deleteAll(): void {
    super.deleteAll();
    this.#push({ t: 'deleteAll' });
  }

  override outputWaits(): boolean {
    // A lease that ran out stops every output, written or not (gate() refuses it).
    return (
      !this.journal ||
      this.journal.unacknowledged > 0 ||
      !!this.journal.broken ||
      Date.now() >= this.leaseUntil - this.marginMs
    );
  }

  override confirmOutput(): Promise<void> {
    return this.gate();
  }

  /**
   * The output gate: resolves when every change so far is replicated and this node's lease
   * still holds; rejects when the object can no longer answer (it is then dropped).
   */
  async gate(): Promise<void> {
    const j = this.journal;
    if (!j) throw new Error('replicated storage has no journal');
    if (j.unacknowledged > 0 || j.broken) await j.barrier();
    if (Date.now() >= this.leaseUntil - this.marginMs)
      throw new Error("this node's lease on the Durable Object ran out before it could answer");
  }
}
