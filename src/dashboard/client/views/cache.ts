/**
 * Cache: each cache of the network — every PoP's HTTP cache and Cache API store, each shield's,
 * the upper tier's — with its entries, bytes, lookups and hit ratio, the URLs asked most and the
 * tags with most entries, read every 5 s (`GET /__outpost/cache/stats`); and purge by URL,
 * prefix, tag or everything (`POST /__outpost/cache/purge`, with the session's CSRF token), with
 * what the purge reached: entries dropped, caches that acknowledged.
 */
import { useState } from 'preact/hooks';
import type { CacheFigures } from '../../../cache/lookup-counts.ts';
import { postJson } from '../api.ts';
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';

/** A cache as `GET /cache/stats` gives it: which it is, and its figures. */
type CacheRow = CacheFigures & { tier: 'pop' | 'api' | 'shield' | 'upper'; id: string };
/** A cache's acknowledgement of a purge: which it is, and how many entries it dropped. */
type Ack = { tier: CacheRow['tier']; id: string; purged: number; node?: string };

const TIER: Record<CacheRow['tier'], string> = {
  pop: 'PoP',
  api: 'Cache API',
  shield: 'shield',
  upper: 'upper tier',
};

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Caches that have looked something up or hold something; the rest are counted. */
function Caches({ rows }: { rows: CacheRow[] }) {
  const used = rows.filter((r) => r.entries > 0 || Object.keys(r.lookups).length > 0);
  const lookups = (r: CacheRow) => Object.values(r.lookups).reduce((a, b) => a + b, 0);
  return html`
    <div class="table-scroll">
      <table class="caches">
        <caption>
          ${used.length} of ${rows.length} caches in use (the others hold nothing and were never asked)
        </caption>
        <thead>
          <tr><th scope="col">Cache</th><th scope="col">Entries</th><th scope="col">Size</th><th scope="col">Lookups</th><th scope="col">Hit ratio</th><th scope="col">Asked most</th><th scope="col">Tags</th></tr>
        </thead>
        <tbody>
          ${used.map(
            (r) => html`<tr key=${`${r.tier}-${r.id}`}>
              <th scope="row">${r.id || (r.tier === 'upper' ? 'upper tier' : 'this server')} <small>${r.id || r.tier !== 'upper' ? TIER[r.tier] : ''}</small></th>
              <td class="num">${r.entries}</td>
              <td class="num">${size(r.bytes)}</td>
              <td class="num" title=${Object.entries(r.lookups)
                .map(([s, n]) => `${s} ${n}`)
                .join(', ')}>${lookups(r)}</td>
              <td class="num">${r.hitRatio === null ? '—' : `${Math.round(r.hitRatio * 100)}%`}</td>
              <td class="keys">${r.topKeys.slice(0, 3).map(([k, n]) => html`<div><code>${k}</code> ${n}</div>`)}</td>
              <td class="keys">${r.tags.slice(0, 3).map(([t, n]) => html`<div><code>${t}</code> ${n}</div>`)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <p class="note">Lookups and hit ratio since the server started (hover for them by status); the URLs asked most are counted while this view is open.</p>
  `;
}

type Kind = 'files' | 'prefixes' | 'tags' | 'everything';

export function Cache() {
  const [kind, setKind] = useState<Kind>('files');
  const [values, setValues] = useState('');
  const [worker, setWorker] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{
    ok: boolean;
    text: string;
    acks?: Ack[];
    missing?: string[];
  } | null>(null);
  // Every 5 s: a read counts each cache's tags over its entries.
  const { data, error, refresh } = usePoll<{ caches: CacheRow[] }>('cache/stats', 5000);

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
      const r = await postJson<{
        purged: number;
        caches: number;
        byCache?: Ack[];
        missing?: { node: string; pop: string }[];
      }>('cache/purge', body);
      const missing = (r.missing ?? []).map((m) => `${m.pop} (${m.node})`);
      setResult({
        ok: missing.length === 0,
        text: `Purged ${r.purged} entr${r.purged === 1 ? 'y' : 'ies'}; ${r.caches} cache${r.caches === 1 ? '' : 's'} acknowledged.${missing.length ? ` No acknowledgement from ${missing.join(', ')}.` : ''}`,
        ...(r.byCache ? { acks: r.byCache } : {}),
      });
      await refresh();
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return html`
    <section aria-labelledby="cache-title">
      <h2 id="cache-title">Cache</h2>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${data ? html`<${Caches} rows=${data.caches} />` : html`<p>Reading…</p>`}
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
      ${
        result?.acks?.length
          ? html`<ul class="acks" aria-label="Acknowledged by">
              ${result.acks.map(
                (a) =>
                  html`<li>${a.id || (a.tier === 'upper' ? 'upper tier' : 'this server')} <small>${a.id || a.tier !== 'upper' ? TIER[a.tier] : ''}</small>: ${a.purged}</li>`,
              )}
            </ul>`
          : null
      }
    </section>
  `;
}
