/**
 * Network: every PoP of the topology with its city, shield and health, read every 2 s
 * (`GET /__outpost/network`), and a button to take one down or bring it back (a simulated
 * outage, `POST /__outpost/network/pops/ID`). A server of one PoP shows that PoP alone.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, postJson } from '../api.ts';
import { html } from '../html.ts';

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
  const [data, setData] = useState<{ topology: string; pops: PopState[] } | null>(null);
  const [error, setError] = useState('');
  const read = () =>
    getJson<{ topology: string; pops: PopState[] }>('network').then((r) => {
      setData(r);
      setError('');
    });

  useEffect(() => {
    if (!available) return;
    let stopped = false;
    const poll = () =>
      getJson<{ topology: string; pops: PopState[] }>('network').then(
        (r) => {
          if (stopped) return;
          setData(r);
          setError('');
        },
        (err) => {
          if (!stopped) setError((err as Error).message);
        },
      );
    poll();
    const timer = setInterval(poll, 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [available]);

  if (!available)
    return html`<section aria-labelledby="network-title">
      <h2 id="network-title">Network</h2>
      <p>This server is one PoP${pop ? html`, <strong>${pop}</strong>` : ''}: start <code>outpost dev --network</code> for a network of PoPs.</p>
    </section>`;

  const toggle = async (p: PopState) => {
    try {
      await postJson(`network/pops/${encodeURIComponent(p.id)}`, { down: !p.out });
      await read();
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
