/**
 * The live tail as the views read it (`GET /__outpost/tail`, Server-Sent Events): the events
 * matching the filters the server applies, newest first, and the stream's state. EventSource
 * tries again by itself after a dropped stream (the server asks for a second's wait); it gives
 * up on an answer that is not a stream (a 401 once a restarted server forgot the session).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ADMIN } from './api.ts';
import { html } from './html.ts';

export interface TailItem {
  scriptName: string;
  outcome: string;
  eventTimestamp: number;
  event: {
    request: { url: string; method: string; headers: Record<string, string> };
    response?: { status: number };
  } | null;
  logs: { level: string; message: unknown[]; timestamp: number }[];
  exceptions: { name: string; message: string; timestamp: number }[];
  truncated: boolean;
  executionModel: string;
  ray?: string;
  pop?: string;
  /** Its place in the page's stream (a key: events without a ray id can share a millisecond). */
  seq: number;
}

let received = 0;

/** Events a second the stream brings at most (the page cannot show more). */
export const TAIL_RATE = 50;

/**
 * `params`: the server's filters (worker, status, method, search, sampling, traces); a change
 * opens a new stream. `keep`: events kept, the oldest dropped first. `paused`: events arriving
 * meanwhile are not added (the stream stays open).
 */
export function useTail(
  params: Record<string, string>,
  keep: number,
  paused = false,
): { items: TailItem[]; state: string; clear(): void } {
  const [items, setItems] = useState<TailItem[]>([]);
  const [state, setState] = useState('connecting');
  const key = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '')).toString();
  // Read by the stream's handler: pausing does not reopen the stream.
  const pausedNow = useRef(paused);
  pausedNow.current = paused;
  useEffect(() => {
    const q = new URLSearchParams(key);
    q.set('max_rate', String(TAIL_RATE));
    const source = new EventSource(`${ADMIN}tail?${q}`);
    setState('connecting');
    source.onopen = () => setState('live');
    source.onerror = () =>
      setState(source.readyState === EventSource.CLOSED ? 'closed: reload the page' : 'reconnecting');
    source.onmessage = (e) => {
      if (pausedNow.current) return;
      const item = JSON.parse(e.data) as TailItem;
      item.seq = ++received;
      setItems((list) => [item, ...list].slice(0, keep));
    };
    return () => source.close();
  }, [key, keep]);
  return { items, state, clear: () => setItems([]) };
}

/** The PoP that served an event: its own field, else the suffix of its ray id (`<hex>-<PoP>`). */
export function popOf(i: TailItem): string {
  return i.pop ?? /-([A-Z0-9]+)$/.exec(i.ray ?? '')?.[1] ?? '';
}

/** A console argument as text. */
export function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The stream's state, announced (role status). */
export function stateClass(state: string): string {
  return `state ${state.split(':')[0]}`;
}

/** The tail's status filter (the server's): any, ok, error (an exception or a limit), canceled. */
export function StatusSelect({ value, set }: { value: string; set(v: string): void }) {
  return html`<label
    >Status
    <select value=${value} onChange=${(e: Event) => set((e.currentTarget as HTMLSelectElement).value)}>
      <option value="">any</option>
      <option value="ok">ok</option>
      <option value="error">error</option>
      <option value="canceled">canceled</option>
    </select>
  </label>`;
}
