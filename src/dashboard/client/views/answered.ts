/**
 * Requests by cache status: every request the server answered (worker or not: a cache hit of
 * the site, a static asset, a refusal) as it ends, from `GET /__outpost/requests` (Server-Sent
 * Events, at most 50 a second) filtered by the server — what the Requests view shows when a cache
 * status is picked, since the live tail carries worker invocations only. A request opens with
 * its waterfall.
 */
import { useEffect, useState } from 'preact/hooks';
import type { RequestRecord } from '../../../observability/request-stream.ts';
import { ADMIN } from '../api.ts';
import { html } from '../html.ts';
import { stateClass } from '../tail.ts';
import { Waterfall } from './waterfall.ts';

/** A request as the stream sends it, numbered as it arrived (a key). */
type Answered = RequestRecord & { seq: number };

const KEEP = 500;
let received = 0;

export function AnsweredRequests({ cache, worker }: { cache: string; worker: string }) {
  const [items, setItems] = useState<Answered[]>([]);
  const [state, setState] = useState('connecting');
  const [open, setOpen] = useState<Answered | null>(null);
  useEffect(() => {
    const q = new URLSearchParams({ cache, max_rate: '50', traces: '1' });
    if (worker) q.set('worker', worker);
    const source = new EventSource(`${ADMIN}requests?${q}`);
    setState('connecting');
    setItems([]);
    source.onopen = () => setState('live');
    source.onerror = () =>
      setState(source.readyState === EventSource.CLOSED ? 'closed: reload the page' : 'reconnecting');
    source.onmessage = (e) => {
      const r = JSON.parse(e.data) as Answered;
      r.seq = ++received;
      setItems((list) => [r, ...list].slice(0, KEEP));
    };
    return () => source.close();
  }, [cache, worker]);
  return html`
    <p>Every request answered with cache status <strong>${cache}</strong> <span class=${stateClass(state)} role="status">${state}</span></p>
    <div class="split">
      <table class="requests answered">
        <caption class="sr-only">Requests with cache status ${cache}, newest first</caption>
        <thead>
          <tr><th scope="col">Time</th><th scope="col">PoP</th><th scope="col">Worker</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Status</th><th scope="col">Cache</th><th scope="col">ms</th></tr>
        </thead>
        <tbody>
          ${items.map(
            (r) => html`<tr key=${r.seq} class=${open === r ? 'selected' : ''}>
              <td>${new Date(r.at).toLocaleTimeString()}</td>
              <td>${r.pop}</td>
              <td>${r.worker || '—'}</td>
              <td>${r.method}</td>
              <td class="url"><button class="link" onClick=${() => setOpen(r)} aria-label=${`Open ${r.path}`}>${r.path}</button></td>
              <td>${r.status}</td>
              <td>${r.cache}</td>
              <td class="num">${r.ms}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${
        open
          ? html`<aside class="detail" aria-label="Request detail">
              <button class="close" onClick=${() => setOpen(null)} aria-label="Close the detail">×</button>
              <h3>${open.method} ${open.path}</h3>
              <dl>
                <dt>Status</dt><dd>${open.status}, cache ${open.cache}</dd>
                <dt>PoP</dt><dd>${open.pop}</dd>
                <dt>Worker</dt><dd>${open.worker || '— (none ran)'}</dd>
                <dt>Ray</dt><dd><code>${open.ray}</code></dd>
                <dt>Time</dt><dd>${open.ms} ms, ${open.bytes} bytes</dd>
              </dl>
              <h4>Waterfall</h4>
              <${Waterfall} ray=${open.ray} />
            </aside>`
          : null
      }
    </div>
    ${items.length === 0 ? html`<p class="empty">No request with that cache status yet.</p>` : null}
  `;
}
