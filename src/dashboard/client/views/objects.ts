/**
 * Durable Objects: every object the directory knows, by namespace, with where it lives and
 * whether it is in memory, read every 2 s (`GET /__outpost/do/objects`).
 */
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';

interface ObjectState {
  namespace: string;
  id: string;
  name: string | null;
  location: string;
  createdAt: string;
  live: boolean;
}

export function Objects() {
  const { data, error } = usePoll<{ idleMs: number; objects: ObjectState[] }>('do/objects', 2000);
  return html`
    <section aria-labelledby="objects-title">
      <h2 id="objects-title">Durable Objects</h2>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${data && data.objects.length === 0 ? html`<p class="empty">No objects yet.</p>` : null}
      ${
        data?.objects.length
          ? html`<table class="objects">
            <caption>In memory until ${Math.round(data.idleMs / 1000)} s without events, then evicted (state kept)</caption>
            <thead>
              <tr><th scope="col">Namespace</th><th scope="col">Name or id</th><th scope="col">Location</th><th scope="col">State</th><th scope="col">Created</th></tr>
            </thead>
            <tbody>
              ${data.objects.map(
                (o) => html`<tr key=${o.namespace + o.id}>
                  <td>${o.namespace}</td>
                  <td><code title=${o.id}>${o.name ?? `${o.id.slice(0, 16)}…`}</code></td>
                  <td>${o.location}</td>
                  <td>${o.live ? 'active' : 'evicted'}</td>
                  <td>${new Date(o.createdAt).toLocaleString()}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
          : null
      }
    </section>
  `;
}
