/**
 * Alarms (https://developers.cloudflare.com/durable-objects/api/alarms/): one per object, kept in
 * the directory so they fire after a restart, run at the object's owner (across nodes, the node
 * holding it, or a node taking it when nobody does), retried with back-off when alarm() throws,
 * and spaced so an alarm that re-arms itself at once cannot keep a core busy.
 */
import type { AlarmEntry, ObjectCluster } from './cluster/index.ts';
import { ObjectElsewhere } from './cluster/index.ts';
import type { ObjectDirectory } from './directory.ts';
import { keyOf, type ObjectClass, type ObjectHost } from './host.ts';
import type { Live } from './live.ts';

/** Alarm retries: 6, waiting 2 s, 4 s, 8 s … between them (as Cloudflare). */
const ALARM_RETRIES = 6;
/**
 * Runs of one object's alarm start at least this long after the previous run ended, and at least
 * as long as that run took: an alarm() that re-arms itself at once ran back to back and kept a
 * core busy. Alarms fire "at or after" their time, so this is within what Workers promises.
 */
export const ALARM_MIN_GAP_MS = 100;

interface AlarmRun {
  running: boolean;
  end: number;
  ms: number;
  /** Set while running: the alarm set meanwhile, scheduled once the run ends. */
  pending?: { at: number; retry: number };
}

/** What alarms need of the objects they fire on (src/durable-objects/objects.ts). */
export interface AlarmSite {
  readonly directory: ObjectDirectory;
  readonly cluster: ObjectCluster | undefined;
  readonly closed: boolean;
  hostFor(pop: string): ObjectHost;
  /** The live object, made when it is not in memory. */
  get(t: ObjectClass, id: string, name: string | null, pop: string): Promise<Live>;
  /** The live object, if it is in memory. */
  live(key: string): Live | undefined;
  log(message: string): void;
}

export class ObjectAlarms {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #runs = new Map<string, AlarmRun>();
  /** Names of objects whose alarms this node fires without having made them (in a network). */
  readonly #names = new Map<string, string | null>();

  constructor(private readonly site: AlarmSite) {}

  /** Schedule the alarms the directory holds (after a restart); call once workers are deployed. */
  start(): void {
    for (const a of this.site.directory.alarms()) this.#schedule(a.namespace, a.id, a.at);
  }

  /** An alarm of an object nobody holds, offered by the cluster: this node may fire it. */
  orphan(a: AlarmEntry): void {
    this.#names.set(keyOf(a.ns, a.id), a.name);
    this.#schedule(a.ns, a.id, a.at);
  }

  /** The object set (a time, ms) or deleted (null) its alarm. */
  changed(namespace: string, id: string, at: number | null): void {
    this.site.directory.setAlarm(namespace, id, at);
    if (at === null) {
      const key = keyOf(namespace, id);
      this.cancel(key);
      const run = this.#runs.get(key);
      if (run) run.pending = undefined;
    } else this.#schedule(namespace, id, at);
  }

  /** Its alarm is running now. */
  running(key: string): boolean {
    return this.#runs.get(key)?.running ?? false;
  }

  /** Stop the object's timer here (it left this node). */
  cancel(key: string): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
  }

  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #schedule(namespace: string, id: string, at: number, retry = 0): void {
    const key = keyOf(namespace, id);
    this.cancel(key);
    const run = this.#runs.get(key);
    if (run?.running) {
      run.pending = { at, retry };
      return;
    }
    const now = Date.now();
    const earliest = run ? run.end + Math.max(ALARM_MIN_GAP_MS, run.ms) : 0;
    if (run && earliest <= now) this.#runs.delete(key);
    const due = Math.max(at, earliest);
    // setTimeout holds at most ~24.8 days: a later alarm re-arms on the way.
    const wait = Math.min(Math.max(0, due - now), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      if (due - Date.now() > 5) return this.#schedule(namespace, id, at, retry);
      void this.#fire(namespace, id, retry);
    }, wait);
    timer.unref();
    this.#timers.set(key, timer);
  }

  async #fire(namespace: string, id: string, retry: number): Promise<void> {
    if (this.site.closed) return;
    const key = keyOf(namespace, id);
    const run: AlarmRun = { running: true, end: 0, ms: 0 };
    this.#runs.set(key, run);
    const start = Date.now();
    try {
      await this.#run(namespace, id, retry);
    } finally {
      run.running = false;
      run.end = Date.now();
      run.ms = run.end - start;
      const next = run.pending;
      run.pending = undefined;
      if (next && !this.site.closed) this.#schedule(namespace, id, next.at, next.retry);
    }
  }

  async #run(namespace: string, id: string, retry: number): Promise<void> {
    const { site } = this;
    const slash = namespace.indexOf('/');
    const c = site.cluster;
    let placed = site.directory.get(namespace, id);
    if (c) {
      // In a network the owner fires an object's alarm; a node takes an object for its alarm
      // only when nobody holds it (src/durable-objects/cluster/cluster.ts).
      const owner = await c.owner(namespace, id, true).catch(() => null);
      if (owner && owner.node !== c.node && c.holds(owner)) return;
      const key = keyOf(namespace, id);
      const name = placed?.name ?? owner?.name ?? this.#names.get(key) ?? null;
      placed = { namespace, id, name, pop: c.pop, createdAt: placed?.createdAt ?? Date.now() };
    }
    if (!placed) return;
    try {
      const host = site.hostFor(placed.pop);
      const t = host.objectClass(
        namespace.slice(0, slash),
        namespace.slice(slash + 1),
        `the alarm of ${namespace} ${id}`,
      );
      let live: Live;
      try {
        live = await site.get(t, id, placed.name, placed.pop);
      } catch (err) {
        if (err instanceof ObjectElsewhere) return; // another node took it: its alarm is theirs
        throw err;
      }
      live.lastUsed = Date.now();
      if (c) {
        // Taken for its alarm: its storage says whether the alarm is still set, and when.
        const at = live.storage.getAlarm();
        if (at === null) return;
        if (at > Date.now() + 5) return this.#schedule(namespace, id, at);
      }
      const sets = live.storage.alarmSets;
      await host.runObject(live.instance, { kind: 'alarm', retry });
      live.lastUsed = Date.now();
      // Done, unless the alarm was set again meanwhile (by alarm() itself or another event),
      // for any time: `setAlarm(Date.now())` in alarm() runs it again.
      if (live.storage.alarmSets === sets) live.storage.setAlarm(null);
    } catch (err) {
      const next = retry + 1;
      site.log(
        `Durable Object ${namespace} ${id}: alarm() failed (attempt ${next}): ${(err as Error).message}${next <= ALARM_RETRIES ? '' : '; giving up'}`,
      );
      if (next <= ALARM_RETRIES) this.#schedule(namespace, id, Date.now() + 1000 * 2 ** next, next);
      else {
        // Given up: the alarm is deleted where it is stored too (across nodes, others would offer it again).
        const live = site.live(keyOf(namespace, id));
        if (live) live.storage.setAlarm(null);
        else this.changed(namespace, id, null);
      }
    }
  }
}
