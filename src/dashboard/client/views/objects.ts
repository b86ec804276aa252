/**
 * Durable Objects: every object the directory knows, read every 2 s (`GET /__outpost/do/objects`):
 * a summary per namespace (class) of how many are active, hibernating or evicted, then each
 * object with where it lives, its state, its hibernatable WebSockets, its database's size and its
 * alarm. A namespace can be picked; the Network view's map shows how many objects each PoP holds.
 */
import { useState } from 'preact/hooks';
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';

export interface ObjectState {
  namespace: string;
  id: string;
  name: string | null;
  location: string;
  createdAt: string;
  live: boolean;
  state: 'active' | 'hibernating' | 'evicted';
  websockets: number;
  /** null: across nodes, while another node holds it. */
  storageBytes: number | null;
  alarm: string | null;
}

/** Rows shown at most (the summary counts them all). */
const MAX_ROWS = 500;

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

function bytes(n: number | null): string {
  if (n === null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function Objects() {
  const { data, error } = usePoll<{ idleMs: number; objects: ObjectState[] }>('do/objects', 2000);
  const [namespace, setNamespace] = useState('');
  const objects = data?.objects ?? [];
  const byNamespace = new Map<string, Record<ObjectState['state'], number>>();
  for (const o of objects) {
    const c = byNamespace.get(o.namespace) ?? { active: 0, hibernating: 0, evicted: 0 };
    c[o.state]++;
    byNamespace.set(o.namespace, c);
  }
  const shown = objects.filter((o) => !namespace || o.namespace === namespace);
  return html`
    <section aria-labelledby="objects-title">
      <h2 id="objects-title">Durable Objects ${data ? html`<small>${objects.length}</small>` : null}</h2>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${data && objects.length === 0 ? html`<p class="empty">No objects yet.</p>` : null}
      ${
        byNamespace.size
          ? html`<table class="namespaces">
            <caption class="sr-only">Objects by namespace</caption>
            <thead><tr><th scope="col">Namespace</th><th scope="col">Active</th><th scope="col">Hibernating</th><th scope="col">Evicted</th></tr></thead>
            <tbody>
              ${[...byNamespace].map(
                ([ns, c]) => html`<tr key=${ns} class=${namespace === ns ? 'selected' : ''}>
                  <th scope="row"><button class="link" aria-pressed=${namespace === ns} onClick=${() => setNamespace(namespace === ns ? '' : ns)}>${ns}</button></th>
                  <td class="num">${c.active}</td><td class="num">${c.hibernating}</td><td class="num">${c.evicted}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
          : null
      }
      ${
        shown.length
          ? html`<div class="table-scroll"><table class="objects">
            <caption>In memory until ${seconds(data?.idleMs ?? 0)} s without events, then evicted (state kept; hibernatable WebSockets stay open)</caption>
            <thead>
              <tr><th scope="col">Namespace</th><th scope="col">Name or id</th><th scope="col">Location</th><th scope="col">State</th><th scope="col">WebSockets</th><th scope="col">Storage</th><th scope="col">Alarm</th><th scope="col">Created</th></tr>
            </thead>
            <tbody>
              ${shown.slice(0, MAX_ROWS).map(
                (o) => html`<tr key=${o.namespace + o.id}>
                  <td>${o.namespace}</td>
                  <td><code title=${o.id}>${o.name ?? `${o.id.slice(0, 16)}…`}</code></td>
                  <td>${o.location}</td>
                  <td class=${`do-${o.state}`}>${o.state}</td>
                  <td class="num">${o.websockets}</td>
                  <td class="num">${bytes(o.storageBytes)}</td>
                  <td>${o.alarm ? new Date(o.alarm).toLocaleString() : '—'}</td>
                  <td>${new Date(o.createdAt).toLocaleString()}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>
          ${shown.length > MAX_ROWS ? html`<p class="note">The first ${MAX_ROWS} of ${shown.length} are shown.</p>` : null}`
          : null
      }
    </section>
  `;
}
