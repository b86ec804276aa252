/**
 * Logs: the workers' console lines and uncaught exceptions as they happen, one line each, with
 * `outpost tail`'s filters (worker, status, method, search, sampling rate; applied by the server)
 * and a level filter (on the page). Pause keeps the stream open and stops adding lines.
 */
import { useMemo, useState } from 'preact/hooks';
import { html } from '../html.ts';
import { popOf, StatusSelect, stateClass, TAIL_RATE, type TailItem, text, useTail } from '../tail.ts';

/** Invocations kept on the page (their lines are shown; the oldest go first). */
const KEEP = 1000;
/** Lines shown at most. */
const MAX_LINES = 2000;

interface Line {
  key: string;
  at: number;
  level: string;
  worker: string;
  pop: string;
  ray: string;
  url: string;
  text: string;
}

function lines(items: TailItem[], level: string): Line[] {
  const out: Line[] = [];
  for (const i of items) {
    const base = { worker: i.scriptName, pop: popOf(i), ray: i.ray ?? '', url: i.event?.request.url ?? '' };
    // Newest first, as the invocations are.
    const own: Line[] = [
      ...i.logs.map((l, n) => ({
        ...base,
        key: `${i.seq}-l${n}`,
        at: l.timestamp,
        level: l.level,
        text: l.message.map(text).join(' '),
      })),
      ...i.exceptions.map((x, n) => ({
        ...base,
        key: `${i.seq}-x${n}`,
        at: x.timestamp,
        level: 'exception',
        text: `${x.name}: ${x.message}`,
      })),
    ].sort((a, b) => b.at - a.at);
    for (const l of own) {
      if (level && l.level !== level && !(level === 'error' && l.level === 'exception')) continue;
      out.push(l);
      if (out.length >= MAX_LINES) return out;
    }
  }
  return out;
}

export function Logs() {
  const [worker, setWorker] = useState('');
  const [status, setStatus] = useState('');
  const [method, setMethod] = useState('');
  const [search, setSearch] = useState('');
  const [sampling, setSampling] = useState('');
  const [level, setLevel] = useState('');
  const [paused, setPaused] = useState(false);
  const { items, state, clear } = useTail({ worker, status, method, search, sampling }, KEEP, paused);
  const shown = useMemo(() => lines(items, level), [items, level]);
  const onText = (set: (v: string) => void) => (e: any) => set(e.currentTarget.value.trim());

  return html`
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs <span class=${stateClass(paused ? 'paused' : state)} role="status">${paused ? 'paused' : state}</span></h2>
      <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
        <label>Worker <input value=${worker} onChange=${onText(setWorker)} /></label>
        <${StatusSelect} value=${status} set=${setStatus} />
        <label>Method <input value=${method} placeholder="GET,POST" onChange=${onText(setMethod)} /></label>
        <label>Search <input value=${search} onChange=${onText(setSearch)} /></label>
        <label>Sampling <input type="number" min="0" max="1" step="0.05" placeholder="1" value=${sampling} onChange=${onText(setSampling)} /></label>
        <label
          >Level
          <select value=${level} onChange=${(e: any) => setLevel(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="debug">debug</option>
            <option value="log">log</option>
            <option value="info">info</option>
            <option value="warn">warn</option>
            <option value="error">error (and exceptions)</option>
          </select>
        </label>
        <button type="button" aria-pressed=${paused} onClick=${() => setPaused(!paused)}>${paused ? 'Resume' : 'Pause'}</button>
        <button type="button" onClick=${clear}>Clear</button>
      </form>
      <ol class="logs tail-lines" aria-label="Console lines, newest first">
        ${shown.map(
          (l) => html`<li key=${l.key} class=${`log ${l.level === 'exception' ? 'error' : l.level}`}>
            <time datetime=${new Date(l.at).toISOString()}>${new Date(l.at).toLocaleTimeString()}</time>
            <span class="level">${l.level}</span>
            <span class="who" title=${`${l.url} · ray ${l.ray}`}>${l.worker}${l.pop ? `@${l.pop}` : ''}</span>
            <span class="msg">${l.text}</span>
          </li>`,
        )}
      </ol>
      ${shown.length === 0 ? html`<p class="empty">No console lines yet: a worker's <code>console.log</code> shows here as it runs.</p>` : null}
      <p class="note">At most ${TAIL_RATE} invocations a second are shown; <code>outpost tail</code> shows them all.</p>
    </section>
  `;
}
