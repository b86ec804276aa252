/**
 * Network: every PoP of the topology with its city, shield and health, read every 2 s
 * (`GET /__outpost/network`), and a button to take one down or bring it back (a simulated
 * outage, `POST /__outpost/network/pops/ID`). A server of one PoP shows that PoP alone.
 */
import { useState } from 'preact/hooks';
import { postJson } from '../api.ts';
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';

interface PopState {
  id: string;
  city: string;
  country: string;
  shield?: string;
  healthy: boolean;
  out: boolean;
  active: boolean;
}

export function Network({ available, pop }: { available: boolean; pop: string }) {
  const {
    data,
    error: readError,
    refresh,
  } = usePoll<{ topology: string; pops: PopState[] }>(available ? 'network' : null, 2000);
  const [actionError, setError] = useState('');
  const error = actionError || readError;

  if (!available)
    return html`<section aria-labelledby="network-title">
      <h2 id="network-title">Network</h2>
      <p>This server is one PoP${pop ? html`, <strong>${pop}</strong>` : ''}: start <code>outpost dev --topology world</code> for a network of PoPs.</p>
    </section>`;

  const toggle = async (p: PopState) => {
    try {
      await postJson(`network/pops/${encodeURIComponent(p.id)}`, { down: !p.out });
      setError('');
      await refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return html`
    <section aria-labelledby="network-title">
      <h2 id="network-title">Network ${data ? html`<small>${data.topology}, ${data.pops.length} PoPs</small>` : null}</h2>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${
        data
          ? html`<table class="pops">
            <thead>
              <tr><th scope="col">PoP</th><th scope="col">City</th><th scope="col">Shield</th><th scope="col">Health</th><th scope="col">Served yet</th><th scope="col">Outage</th></tr>
            </thead>
            <tbody>
              ${data.pops.map(
                (p) => html`<tr key=${p.id}>
                  <th scope="row">${p.id}</th>
                  <td>${p.city}, ${p.country}</td>
                  <td>${p.shield ?? ''}</td>
                  <td class=${p.healthy ? 'ok' : 'bad'}>${p.out ? 'down (simulated)' : p.healthy ? 'healthy' : 'unhealthy'}</td>
                  <td>${p.active ? 'yes' : 'no'}</td>
                  <td><button onClick=${() => toggle(p)}>${p.out ? 'Bring back' : 'Take down'}</button></td>
                </tr>`,
              )}
            </tbody>
          </table>`
          : html`<p>Reading…</p>`
      }
    </section>
  `;
}
