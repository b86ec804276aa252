/**
 * Cache: purge by URL, prefix, tag or everything (`POST /__outpost/cache/purge`, with the
 * session's CSRF token), and what the purge reached: entries dropped, caches that acknowledged.
 */
import { useState } from 'preact/hooks';
import { postJson } from '../api.ts';
import { html } from '../html.ts';

type Kind = 'files' | 'prefixes' | 'tags' | 'everything';

export function Cache() {
  const [kind, setKind] = useState<Kind>('files');
  const [values, setValues] = useState('');
  const [worker, setWorker] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  const purge = async (e: Event) => {
    e.preventDefault();
    const list = values
      .split('\n')
      .map((v) => v.trim())
      .filter(Boolean);
    if (kind !== 'everything' && list.length === 0) {
      setResult({
        ok: false,
        text: `Give at least one ${kind === 'files' ? 'URL' : kind.slice(0, -1)}, one per line.`,
      });
      return;
    }
    const body: Record<string, unknown> =
      kind === 'everything' ? { purge_everything: true } : { [kind]: list };
    if (worker) body.worker = worker;
    setBusy(true);
    try {
      const r = await postJson<{ purged: number; caches: number }>('cache/purge', body);
      setResult({
        ok: true,
        text: `Purged ${r.purged} entr${r.purged === 1 ? 'y' : 'ies'}; ${r.caches} cache${r.caches === 1 ? '' : 's'} acknowledged.`,
      });
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return html`
    <section aria-labelledby="cache-title">
      <h2 id="cache-title">Cache</h2>
      <form class="purge" onSubmit=${purge}>
        <fieldset>
          <legend>Purge</legend>
          ${(['files', 'prefixes', 'tags', 'everything'] as Kind[]).map(
            (k) => html`<label class="radio"
              ><input type="radio" name="kind" value=${k} checked=${kind === k} onChange=${() => setKind(k)} />
              ${k === 'files' ? 'URLs' : k}</label
            >`,
          )}
        </fieldset>
        ${
          kind === 'everything'
            ? null
            : html`<label
              >${kind === 'files' ? 'URLs' : kind === 'prefixes' ? 'Prefixes (host/path)' : 'Tags'}, one per line
              <textarea rows="4" value=${values} onInput=${(e: any) => setValues(e.currentTarget.value)}></textarea
            ></label>`
        }
        <label>Worker (optional: only its cache) <input value=${worker} onInput=${(e: any) => setWorker(e.currentTarget.value)} /></label>
        <button type="submit" disabled=${busy}>${busy ? 'Purging…' : 'Purge'}</button>
      </form>
      ${result ? html`<p class=${result.ok ? 'result ok' : 'result bad'} role="status">${result.text}</p>` : null}
    </section>
  `;
}
