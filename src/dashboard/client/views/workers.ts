/**
 * Workers: each deployed worker with its version and compatibility date, and since the server
 * started its requests by status class, requests stopped for a limit (by limit), invocations,
 * CPU per invocation and cold starts, summed over the PoPs; read every 2 s
 * (`GET /__outpost/workers`). On a node of a network, its deployments follow (deployments.ts).
 */
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';
import { Deployments } from './deployments.ts';

interface WorkerRow {
  name: string;
  version: string | null;
  compatibilityDate: string | null;
  requests: number;
  byClass: Record<string, number>;
  limitKills: Record<string, number>;
  invocations: number;
  cpuMsPerInvocation: number | null;
  coldStarts: number;
  pops: string[];
}

export function Workers({ deployments }: { deployments: boolean }) {
  const { data, error } = usePoll<{ workers: WorkerRow[] }>('workers', 2000);
  const kills = (w: WorkerRow) => Object.entries(w.limitKills).filter(([, n]) => n > 0);
  return html`
    <section aria-labelledby="workers-title">
      <h2 id="workers-title">Workers ${data ? html`<small>${data.workers.length}</small>` : null}</h2>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${data && data.workers.length === 0 ? html`<p class="empty">No worker is deployed here yet.</p>` : null}
      ${
        data?.workers.length
          ? html`<div class="table-scroll"><table class="workers">
            <caption>Since the server started, over every PoP</caption>
            <thead>
              <tr><th scope="col">Worker</th><th scope="col">Version</th><th scope="col">Requests</th><th scope="col">5xx</th><th scope="col">Limit kills</th><th scope="col">Invocations</th><th scope="col">CPU / invocation</th><th scope="col">Cold starts</th><th scope="col">PoPs</th></tr>
            </thead>
            <tbody>
              ${data.workers.map(
                (w) => html`<tr key=${w.name}>
                  <th scope="row">${w.name}</th>
                  <td><code>${w.version ?? '—'}</code>${w.compatibilityDate ? html`<br /><small>compat ${w.compatibilityDate}</small>` : null}</td>
                  <td class="num" title=${Object.entries(w.byClass)
                    .map(([c, n]) => `${c} ${n}`)
                    .join(', ')}>${w.requests}</td>
                  <td class=${`num${w.byClass['5xx'] ? ' bad' : ''}`}>${w.byClass['5xx'] ?? 0}</td>
                  <td class=${kills(w).length ? 'bad' : ''}>${
                    kills(w).length
                      ? kills(w)
                          .map(([l, n]) => `${l} ${n}`)
                          .join(', ')
                      : '0'
                  }</td>
                  <td class="num">${w.invocations}</td>
                  <td class="num">${w.cpuMsPerInvocation === null ? '—' : `${w.cpuMsPerInvocation.toFixed(2)} ms`}</td>
                  <td class="num">${w.coldStarts}</td>
                  <td>${w.pops.join(' ')}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
          : null
      }
      ${
        deployments
          ? null
          : html`<p class="note">Deploy waves, their gates and rollback belong to a network of nodes (<code>outpost node</code>, <code>outpost deploy</code>): its dashboard shows them here.</p>`
      }
    </section>
    ${deployments ? html`<${Deployments} />` : null}
  `;
}
