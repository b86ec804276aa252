/**
 * KV consistency: for a namespace (by binding name or id) and a key prefix, the newest version
 * of each key and the version each PoP sees and caches, read every second while shown
 * (`GET /__outpost/kv/keys`): write from one PoP and watch it spread.
 */
import { useState } from 'preact/hooks';
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';

interface KeyState {
  key: string;
  latest: { version: number; pop: string; writtenAt: number; deleted: boolean };
  seen: Record<string, number | null>;
  cached: Record<string, number | null>;
}

const EVERY_MS = 1000;

export function Kv() {
  const [binding, setBinding] = useState('');
  const [prefix, setPrefix] = useState('');
  const [watching, setWatching] = useState<{ binding: string; prefix: string } | null>(null);
  const { data, error } = usePoll<{ namespace: string; pops: string[]; keys: KeyState[] }>(
    watching ? `kv/keys?${new URLSearchParams(watching)}` : null,
    EVERY_MS,
  );

  return html`
    <section aria-labelledby="kv-title">
      <h2 id="kv-title">KV consistency</h2>
      <form
        class="filters"
        onSubmit=${(e: Event) => {
          e.preventDefault();
          setWatching({ binding: binding.trim(), prefix });
        }}
      >
        <label>Binding or namespace id <input required value=${binding} onInput=${(e: any) => setBinding(e.currentTarget.value)} /></label>
        <label>Key prefix <input value=${prefix} onInput=${(e: any) => setPrefix(e.currentTarget.value)} /></label>
        <button type="submit">Watch</button>
      </form>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${
        data
          ? html`<table class="kv">
            <caption>Namespace <code>${data.namespace}</code>: the version each PoP sees (and caches), read every second</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Latest</th>
                ${data.pops.map((p) => html`<th scope="col">${p}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${data.keys.map(
                (k) => html`<tr key=${k.key}>
                  <th scope="row"><code>${k.key}</code></th>
                  <td>v${k.latest.version}${k.latest.deleted ? ' (deleted)' : ''} <small>from ${k.latest.pop}</small></td>
                  ${data.pops.map((p) => {
                    const seen = k.seen[p];
                    const behind = seen === null || seen < k.latest.version;
                    return html`<td class=${behind ? 'behind' : 'current'}>
                      ${seen === null ? '—' : `v${seen}`}${k.cached[p] !== null && k.cached[p] !== undefined ? html` <small>cached v${k.cached[p]}</small>` : null}
                    </td>`;
                  })}
                </tr>`,
              )}
            </tbody>
          </table>
          ${data.keys.length === 0 ? html`<p class="empty">No keys with that prefix.</p>` : null}`
          : null
      }
    </section>
  `;
}
