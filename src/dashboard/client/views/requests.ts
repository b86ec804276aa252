/**
 * Requests: the live tail (`GET /__outpost/tail`, Server-Sent Events) with the filters the
 * server applies (worker, status, method, search) and two it cannot (PoP, path), newest first;
 * with a cache status picked, every request answered with it instead (answered.ts).
 * One request opens with the waterfall of its spans (waterfall.ts: the stream asks the server to
 * trace requests while it is open), its console lines, exceptions and request headers. EventSource
 * reconnects by itself after a dropped connection; the state shows it.
 */
import { useMemo, useState } from 'preact/hooks';
import { html } from '../html.ts';
import { popOf, StatusSelect, stateClass, TAIL_RATE, type TailItem, text, useTail } from '../tail.ts';
import { AnsweredRequests } from './answered.ts';
import { Waterfall } from './waterfall.ts';

/** Requests kept on the page (the oldest go first). */
const KEEP = 500;
/** Cache statuses a request can end with (`none`: no cache looked). */
const CACHE = ['HIT', 'MISS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED', 'BYPASS', 'DYNAMIC', 'none'];

export function Requests() {
  const [worker, setWorker] = useState('');
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  const [pop, setPop] = useState('');
  const [path, setPath] = useState('');
  const [cache, setCache] = useState('');
  const [open, setOpen] = useState<TailItem | null>(null);
  // Traced while the view is open, for the waterfalls (at most TAIL_RATE a second).
  const { items, state, clear } = useTail({ worker, status, search, traces: '1' }, KEEP);

  const shown = useMemo(
    () =>
      items.filter((i) => (!pop || i.pop === pop) && (!path || (i.event?.request.url ?? '').includes(path))),
    [items, pop, path],
  );

  return html`
    <section aria-labelledby="requests-title">
      <h2 id="requests-title">Requests <span class=${stateClass(state)} role="status">${state}</span></h2>
      <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
        <label>Worker <input value=${worker} onChange=${(e: any) => setWorker(e.currentTarget.value)} /></label>
        <${StatusSelect} value=${status} set=${setStatus} />
        <label
          >Cache
          <select value=${cache} onChange=${(e: any) => setCache(e.currentTarget.value)}>
            <option value="">any (worker invocations)</option>
            ${CACHE.map((c) => html`<option value=${c}>${c}</option>`)}
          </select>
        </label>
        <label>Search <input value=${search} onChange=${(e: any) => setSearch(e.currentTarget.value)} /></label>
        <label>PoP <input value=${pop} onInput=${(e: any) => setPop(e.currentTarget.value.toUpperCase())} /></label>
        <label>Path <input value=${path} onInput=${(e: any) => setPath(e.currentTarget.value)} /></label>
        <button type="button" onClick=${clear}>Clear</button>
      </form>
      ${cache ? html`<${AnsweredRequests} cache=${cache} worker=${worker} />` : null}
      <div class="split" hidden=${!!cache}>
        <table class="requests">
          <caption class="sr-only">Requests, newest first</caption>
          <thead>
            <tr><th scope="col">Time</th><th scope="col">PoP</th><th scope="col">Worker</th><th scope="col">Method</th><th scope="col">URL</th><th scope="col">Status</th><th scope="col">Outcome</th></tr>
          </thead>
          <tbody>
            ${shown.map(
              (i) => html`
                <tr key=${i.seq} class=${open === i ? 'selected' : ''}>
                  <td>${new Date(i.eventTimestamp).toLocaleTimeString()}</td>
                  <td>${popOf(i)}</td>
                  <td>${i.scriptName}</td>
                  <td>${i.event?.request.method ?? ''}</td>
                  <td class="url">
                    <button class="link" onClick=${() => setOpen(i)} aria-label=${`Open ${i.event?.request.url ?? 'event'}`}>
                      ${i.event?.request.url ?? `(${i.executionModel} event)`}
                    </button>
                  </td>
                  <td>${i.event?.response?.status ?? ''}</td>
                  <td class=${i.outcome === 'ok' ? 'ok' : 'bad'}>${i.outcome}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
        ${open ? html`<${Detail} item=${open} close=${() => setOpen(null)} />` : null}
      </div>
      ${shown.length === 0 && !cache ? html`<p class="empty">No requests yet: send one to a worker and it shows here.</p>` : null}
      <p class="note">At most ${TAIL_RATE} requests a second are shown; <code>outpost tail</code> shows them all.</p>
    </section>
  `;
}

function Detail({ item, close }: { item: TailItem; close: () => void }) {
  const request = item.event?.request;
  return html`
    <aside class="detail" aria-label="Request detail">
      <button class="close" onClick=${close} aria-label="Close the detail">×</button>
      <h3>${request ? `${request.method} ${request.url}` : item.executionModel}</h3>
      <dl>
        <dt>Worker</dt><dd>${item.scriptName}</dd>
        <dt>Status</dt><dd>${item.event?.response?.status ?? '—'} (${item.outcome})</dd>
        <dt>PoP</dt><dd>${popOf(item) || '—'}</dd>
        <dt>Ray</dt><dd><code>${item.ray ?? '—'}</code></dd>
        <dt>Time</dt><dd>${new Date(item.eventTimestamp).toISOString()}</dd>
      </dl>
      <h4>Waterfall</h4>
      <${Waterfall} ray=${item.ray} />
      <h4>Console (${item.logs.length})</h4>
      <ol class="logs">
        ${item.logs.map((l) => html`<li class=${`log ${l.level}`}><span class="level">${l.level}</span> ${l.message.map(text).join(' ')}</li>`)}
      </ol>
      ${item.truncated ? html`<p>Some lines were left out (past the tail's size limit).</p>` : null}
      ${
        item.exceptions.length
          ? html`<h4>Exceptions</h4>
            <ol class="logs">${item.exceptions.map((x) => html`<li class="log error">${x.name}: ${x.message}</li>`)}</ol>`
          : null
      }
      ${
        request
          ? html`<h4>Request headers</h4>
            <table class="headers">
              <tbody>
                ${Object.entries(request.headers).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}
              </tbody>
            </table>`
          : null
      }
    </aside>
  `;
}
