/**
 * The dashboard's page: a tab per view, the one shown named in the URL's hash (#requests,
 * #cache, …) so a view can be linked and the back button works. Views whose admin endpoint
 * this server lacks are not offered. Light and dark follow the system, or the toggle.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { config } from './api.ts';
import { html } from './html.ts';
import { Cache } from './views/cache.ts';
import { Kv } from './views/kv.ts';
import { Logs } from './views/logs.ts';
import { Network } from './views/network.ts';
import { Objects } from './views/objects.ts';
import { Requests } from './views/requests.ts';
import { Workers } from './views/workers.ts';

const f = config.features;
const VIEWS = [
  { id: 'requests', label: 'Requests', on: f.tail },
  { id: 'logs', label: 'Logs', on: f.tail },
  { id: 'workers', label: 'Workers', on: f.workers },
  { id: 'network', label: 'Network', on: true },
  { id: 'cache', label: 'Cache', on: true },
  { id: 'kv', label: 'KV', on: f.kv },
  { id: 'objects', label: 'Durable Objects', on: f.objects },
].filter((v) => v.on);

function current(): string {
  const id = location.hash.slice(1);
  return VIEWS.some((v) => v.id === id) ? id : VIEWS[0].id;
}

function App() {
  const [view, setView] = useState(current());
  const [theme, setTheme] = useState(localStorage.getItem('outpost-theme') ?? '');
  useEffect(() => {
    const onHash = () => setView(current());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    localStorage.setItem('outpost-theme', theme);
  }, [theme]);
  const next = theme === '' ? 'dark' : theme === 'dark' ? 'light' : '';
  return html`
    <header>
      <h1>Outpost <small>${f.pop ? `PoP ${f.pop}` : ''}</small></h1>
      <nav aria-label="Views">
        ${VIEWS.map(
          (v) =>
            html`<a href=${`#${v.id}`} aria-current=${view === v.id ? 'page' : undefined}>${v.label}</a>`,
        )}
      </nav>
      <button class="theme" onClick=${() => setTheme(next)} aria-label=${`Theme: ${theme || 'system'}; switch to ${next || 'system'}`}>
        ${theme || 'system'} theme
      </button>
    </header>
    <main id="view">
      ${view === 'requests' ? html`<${Requests} />` : null}
      ${view === 'logs' ? html`<${Logs} />` : null}
      ${view === 'workers' ? html`<${Workers} deployments=${f.deployments} />` : null}
      ${view === 'network' ? html`<${Network} available=${f.network} pop=${f.pop} objects=${f.objects} />` : null}
      ${view === 'cache' ? html`<${Cache} />` : null}
      ${view === 'kv' ? html`<${Kv} />` : null}
      ${view === 'objects' ? html`<${Objects} />` : null}
    </main>
  `;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
