/**
 * Network: every PoP of the topology on a world map (map.ts) and in a table, with its city,
 * shield and health (`GET /__outpost/network`) and its traffic over the last 10 s — requests a
 * second, 5xx, cache hit ratio, p50/p99, live isolates (`GET /__outpost/network/stats`) — both
 * read every 2 s; a button takes a PoP down or brings it back (a simulated outage,
 * `POST /__outpost/network/pops/ID`). A server of one PoP shows that PoP's figures alone.
 */
import { useState } from 'preact/hooks';
import { postJson } from '../api.ts';
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';
import { type MapShield, WorldMap } from './map.ts';

interface PopState {
  id: string;
  city: string;
  country: string;
  latitude: number;
  longitude: number;
  shield?: string;
  healthy: boolean;
  out: boolean;
  active: boolean;
}

interface Figures {
  requests: number;
  rps: number;
  errors: number;
  hitRatio: number | null;
  p50: number | null;
  p99: number | null;
  isolates: number | null;
}

type Stats = { windowSeconds: number; pops: Record<string, Figures> };

const num = (v: number | null, digits = 1) => (v === null ? '—' : v.toFixed(digits));
const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);

/** A PoP's traffic cells (the same in a network's table and a single PoP's). */
function cells(f: Figures | undefined) {
  return html`
    <td class="num">${num(f?.rps ?? 0)}</td>
    <td class=${`num${f?.errors ? ' bad' : ''}`}>${f?.errors ?? 0}</td>
    <td class="num">${pct(f?.hitRatio ?? null)}</td>
    <td class="num">${num(f?.p50 ?? null)}</td>
    <td class="num">${num(f?.p99 ?? null)}</td>
    <td class="num">${f?.isolates ?? '—'}</td>
  `;
}
const FIGURE_HEADS = html`<th scope="col">req/s</th><th scope="col">5xx</th><th scope="col">Hit ratio</th><th scope="col">p50 ms</th><th scope="col">p99 ms</th><th scope="col">Isolates</th>`;

export function Network({ available, pop, objects }: { available: boolean; pop: string; objects: boolean }) {
  const {
    data,
    error: readError,
    refresh,
  } = usePoll<{ topology: string; pops: PopState[]; shields: MapShield[] }>(
    available ? 'network' : null,
    2000,
  );
  const { data: stats } = usePoll<Stats>('network/stats', 2000);
  // Where the Durable Objects live, on the map.
  const { data: placed } = usePoll<{ objects: { location: string }[] }>(
    available && objects ? 'do/objects' : null,
    5000,
  );
  const objectsAt: Record<string, number> = {};
  for (const o of placed?.objects ?? []) objectsAt[o.location] = (objectsAt[o.location] ?? 0) + 1;
  const [actionError, setError] = useState('');
  const [selected, setSelected] = useState('');
  const error = actionError || readError;

  if (!available)
    return html`<section aria-labelledby="network-title">
      <h2 id="network-title">Network</h2>
      <p>This server is one PoP${pop ? html`, <strong>${pop}</strong>` : ''}: start <code>outpost dev --topology world</code> for a network of PoPs.</p>
      <table class="pops">
        <caption class="sr-only">Traffic over the last ${stats?.windowSeconds ?? 10} seconds</caption>
        <thead><tr><th scope="col">PoP</th>${FIGURE_HEADS}</tr></thead>
        <tbody>
          ${Object.entries(stats?.pops ?? {}).map(([id, f]) => html`<tr key=${id}><th scope="row">${id}</th>${cells(f)}</tr>`)}
        </tbody>
      </table>
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
          ? html`<${WorldMap}
              pops=${data.pops}
              shields=${data.shields ?? []}
              stats=${stats?.pops ?? {}}
              objects=${objectsAt}
              selected=${selected}
              select=${(id: string) => {
                setSelected(id);
                document.getElementById(`pop-${id}`)?.scrollIntoView({ block: 'nearest' });
              }}
            />
            <div class="table-scroll">
            <table class="pops">
            <caption class="sr-only">PoPs, with their traffic over the last ${stats?.windowSeconds ?? 10} seconds</caption>
            <thead>
              <tr><th scope="col">PoP</th><th scope="col">City</th><th scope="col">Shield</th><th scope="col">Health</th>${FIGURE_HEADS}<th scope="col">Served yet</th><th scope="col">Outage</th></tr>
            </thead>
            <tbody>
              ${data.pops.map(
                (p) => html`<tr key=${p.id} id=${`pop-${p.id}`} class=${selected === p.id ? 'selected' : ''}>
                  <th scope="row"><button class="link" onClick=${() => setSelected(p.id)} aria-pressed=${selected === p.id}>${p.id}</button></th>
                  <td>${p.city}, ${p.country}</td>
                  <td>${p.shield ?? ''}</td>
                  <td class=${p.healthy ? 'ok' : 'bad'}>${p.out ? 'down (simulated)' : p.healthy ? 'healthy' : 'unhealthy'}</td>
                  ${cells(stats?.pops[p.id])}
                  <td>${p.active ? 'yes' : 'no'}</td>
                  <td><button onClick=${() => toggle(p)}>${p.out ? 'Bring back' : 'Take down'}</button></td>
                </tr>`,
              )}
            </tbody>
          </table>
          </div>`
          : html`<p>Reading…</p>`
      }
    </section>
  `;
}
