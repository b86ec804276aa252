/**
 * A request's spans as a waterfall (`GET /__outpost/traces?ray=`): one row per span, under its
 * parent, its bar placed on the request's timeline, then the response's headers as sent. A hop with a modelled network trip (the
 * client's trip to its PoP, a KV read from the central store) also shows the trip's modelled
 * length, hatched: waited when latency is simulated, only reported when it is not. The spans exist while the Requests view is open (the server traces then,
 * at most 50 requests a second), or with tracing on.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson } from '../api.ts';
import { html } from '../html.ts';

interface Span {
  id: string;
  parent: string | null;
  name: string;
  start: number;
  end: number | null;
  error: string | null;
  attrs: Record<string, unknown>;
}

interface Trace {
  traceId: string;
  start: number;
  spans: Span[];
  dropped: number;
  responseHeaders?: Record<string, string>;
}

/** Depth-first, each span under its parent, siblings in the order they started. */
function ordered(spans: Span[]): { span: Span; depth: number }[] {
  const ids = new Set(spans.map((s) => s.id));
  const children = new Map<string | null, Span[]>();
  for (const s of spans) {
    // A span whose parent is not here (the root's remote parent) starts a tree of its own.
    const p = s.parent !== null && ids.has(s.parent) ? s.parent : null;
    const list = children.get(p) ?? [];
    list.push(s);
    children.set(p, list);
  }
  const out: { span: Span; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => a.start - b.start)) {
      out.push({ span: s, depth });
      walk(s.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

export function Waterfall({ ray }: { ray: string | undefined }) {
  const [trace, setTrace] = useState<Trace | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    setTrace(null);
    setError('');
    if (!ray) {
      setError('This event has no ray id, so no trace.');
      return;
    }
    let stopped = false;
    // The trace is kept when the request ends; its event can arrive a moment before.
    const read = (tries: number): void => {
      getJson<{ trace: Trace }>(`traces?ray=${encodeURIComponent(ray)}`).then(
        (r) => !stopped && setTrace(r.trace),
        (err) => {
          if (stopped) return;
          if (err instanceof ApiError && err.status === 404 && tries > 0) {
            setTimeout(() => read(tries - 1), 250);
            return;
          }
          setError((err as Error).message);
        },
      );
    };
    read(4);
    return () => {
      stopped = true;
    };
  }, [ray]);

  if (error) return html`<p class="note">No waterfall: ${error}</p>`;
  if (!trace) return html`<p class="note">Loading the trace…</p>`;
  const t0 = Math.min(...trace.spans.map((s) => s.start));
  const t1 = Math.max(...trace.spans.map((s) => s.end ?? s.start));
  const total = Math.max(t1 - t0, 0.001);
  return html`
    <table class="waterfall" aria-label="Spans of this request">
      <thead>
        <tr><th scope="col">Span</th><th scope="col">Start</th><th scope="col">Time</th><th scope="col" class="bar-col"><span class="sr-only">Timeline</span>${ms(total)} ms</th></tr>
      </thead>
      <tbody>
        ${ordered(trace.spans).map(({ span, depth }) => {
          const dur = span.end === null ? null : span.end - span.start;
          const simulated = span.attrs['outpost.hop.simulated_ms'];
          const hop = span.attrs['outpost.hop'];
          const left = ((span.start - t0) / total) * 100;
          const width = dur === null ? 100 - left : Math.max((dur / total) * 100, 0.4);
          return html`
            <tr class=${span.error ? 'failed' : ''}>
              <th scope="row" style=${`padding-left: ${0.4 + depth}rem`}>
                ${span.name}
                ${typeof hop === 'string' ? html` <small>${hop}</small>` : null}
                ${span.error ? html` <small class="bad">${span.error}</small>` : null}
              </th>
              <td class="num">${ms(span.start - t0)}</td>
              <td class="num">
                ${dur === null ? 'running' : `${ms(dur)} ms`}
                ${typeof simulated === 'number' ? html`<br /><small>${ms(simulated)} ms modelled</small>` : null}
              </td>
              <td class="bar-col" aria-hidden="true">
                <span class=${`bar${dur === null ? ' open' : ''}`} style=${`margin-left: ${left}%; width: ${width}%`}></span>
                ${
                  typeof simulated === 'number'
                    ? html`<span class="bar modelled" style=${`margin-left: ${left}%; width: ${Math.min((simulated / total) * 100, 100 - left)}%`}></span>`
                    : null
                }
              </td>
            </tr>
          `;
        })}
      </tbody>
    </table>
    ${trace.dropped > 0 ? html`<p class="note">${trace.dropped} more spans were not recorded (a trace keeps 256).</p>` : null}
    <p class="note">Trace <code>${trace.traceId}</code></p>
    ${
      trace.responseHeaders
        ? html`<h4>Response headers</h4>
          <table class="headers response-headers">
            <tbody>
              ${Object.entries(trace.responseHeaders).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}
            </tbody>
          </table>`
        : null
    }
  `;
}
