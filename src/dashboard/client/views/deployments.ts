/**
 * A network of nodes' deployments (`GET /__outpost/deployments`, read every 2 s): each worker's
 * current deployment — its versions and their shares, its waves with the released ones marked,
 * its status and the last gate's verdict — and the version each node serves; a rollback button
 * (`POST /__outpost/deployments/<worker>/rollback`, with the session's CSRF token) serves the
 * version from before the current deployment again, everywhere at once, as `outpost rollback`.
 */
import { useState } from 'preact/hooks';
import { postJson } from '../api.ts';
import { html } from '../html.ts';
import { usePoll } from '../poll.ts';

interface Split {
  version: string;
  percentage: number;
}
interface Deployment {
  id: string;
  createdAt: string;
  message?: string;
  versions: Split[];
  previous: Split[];
  waves: string[][] | null;
  released: number;
  status: 'rolling' | 'complete' | 'rolled_back';
  reason?: string;
}
interface WorkerDeployments {
  worker: string;
  deployment: Deployment | null;
  nodes: {
    pop: string;
    id: string;
    version: string | null;
    failed: { version: string; error: string } | null;
  }[];
}

const short = (v: string) => v.slice(0, 8);
const splits = (s: Split[]) => s.map((x) => `${short(x.version)} ${x.percentage}%`).join(', ');

export function Deployments() {
  const { data, error, refresh } = usePoll<{ workers: WorkerDeployments[] }>('deployments', 2000);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const rollback = async (w: WorkerDeployments) => {
    const before = w.deployment?.previous ?? [];
    if (!before.length) return;
    if (!confirm(`Roll "${w.worker}" back to ${splits(before)} on every node?`)) return;
    try {
      const r = await postJson<{ deployment: Deployment }>(
        `deployments/${encodeURIComponent(w.worker)}/rollback`,
        {},
      );
      setResult({
        ok: true,
        text: `Deployment ${r.deployment.id}: ${w.worker} serves ${splits(r.deployment.versions)}.`,
      });
      await refresh();
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    }
  };
  return html`
    <section aria-labelledby="deployments-title">
      <h2 id="deployments-title">Deployments</h2>
      ${error ? html`<p class="result bad" role="alert">${error}</p>` : null}
      ${result ? html`<p class=${result.ok ? 'result ok' : 'result bad'} role="status">${result.text}</p>` : null}
      ${data && data.workers.length === 0 ? html`<p class="empty">Nothing deployed to this network yet (<code>outpost deploy</code>).</p>` : null}
      ${(data?.workers ?? []).map((w) => {
        const d = w.deployment;
        return html`<article class="deployment" key=${w.worker} aria-label=${`Deployment of ${w.worker}`}>
          <h3>${w.worker} ${d ? html`<span class=${`state ${d.status}`}>${d.status.replace('_', ' ')}</span>` : null}</h3>
          ${
            d
              ? html`<dl>
                  <dt>Deployment</dt><dd><code>${d.id}</code> ${new Date(d.createdAt).toLocaleString()}${d.message ? ` — ${d.message}` : ''}</dd>
                  <dt>Serves</dt><dd>${splits(d.status === 'rolled_back' ? d.previous : d.versions)}</dd>
                  ${d.previous.length ? html`<dt>Before</dt><dd>${splits(d.previous)}</dd>` : null}
                  ${d.reason ? html`<dt>Gate</dt><dd>${d.reason}</dd>` : null}
                </dl>
                ${
                  d.waves
                    ? html`<ol class="waves" aria-label="Waves">
                        ${d.waves.map(
                          (wave, i) =>
                            html`<li class=${i < d.released ? 'released' : ''}>wave ${i + 1}: ${wave.join(', ')} ${i < d.released ? '(released)' : ''}</li>`,
                        )}
                      </ol>`
                    : null
                }
                <button type="button" disabled=${!d.previous.length} onClick=${() => rollback(w)}>Roll back</button>`
              : null
          }
          <table class="nodes">
            <caption class="sr-only">The version each node serves</caption>
            <thead><tr><th scope="col">PoP</th><th scope="col">Node</th><th scope="col">Serves</th></tr></thead>
            <tbody>
              ${w.nodes.map(
                (n) => html`<tr key=${n.id}><th scope="row">${n.pop}</th><td><code>${n.id}</code></td>
                  <td>${n.version ? short(n.version) : '—'}${n.failed ? html` <span class="bad">(failed ${short(n.failed.version)}: ${n.failed.error})</span>` : null}</td></tr>`,
              )}
            </tbody>
          </table>
        </article>`;
      })}
    </section>
  `;
}
