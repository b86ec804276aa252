/**
 * The network on a world map (d3-geo, Natural Earth projection; the land outline is world-atlas's
 * 1:110m TopoJSON, served by the dashboard at /__outpost/ui/land.json and read when the map is
 * first shown): each PoP at its city, coloured by health and sized by its requests a second,
 * lines to the shield it fills from; shields as squares; how many Durable Objects live at each
 * PoP beside it. A click on the map picks a client
 * location: a test request sent from there (`Outpost-Client-Location`) shows which PoP served it.
 *
 * One SVG of a few hundred circles: a network of 360 PoPs redraws in a few milliseconds. The
 * table beside it (network.ts) carries the same figures for keyboards and screen readers; the
 * picker has latitude and longitude fields for the same reason.
 */
import { geoNaturalEarth1, geoPath } from 'd3-geo';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { feature } from 'topojson-client';
import { ADMIN } from '../api.ts';
import { html } from '../html.ts';

export interface MapPop {
  id: string;
  city: string;
  latitude: number;
  longitude: number;
  shield?: string;
  healthy: boolean;
  out: boolean;
}
export interface MapShield {
  id: string;
  city: string;
  latitude: number;
  longitude: number;
}
export interface PopStats {
  rps: number;
  errors: number;
}

const W = 960;
const H = 500;

/** The land outline, fetched once per page. */
let land: Promise<string | null> | null = null;
function landPath(path: ReturnType<typeof geoPath>): Promise<string | null> {
  land ??= fetch(`${ADMIN}ui/land.json`)
    .then((r) => (r.ok ? r.json() : null))
    .then((topo) => (topo ? path(feature(topo, topo.objects.land) as never) : null))
    .catch(() => null);
  return land;
}

/** Where a test request went. */
interface Probe {
  at: [number, number];
  path: string;
  result?: { pop: string; status: number; ms: number; timing: string } | { error: string };
}

export function WorldMap({
  pops,
  shields,
  stats,
  objects,
  selected,
  select,
}: {
  pops: MapPop[];
  shields: MapShield[];
  stats: Record<string, PopStats>;
  /** Durable Objects per PoP. */
  objects: Record<string, number>;
  selected: string;
  select(id: string): void;
}) {
  const projection = useMemo(() => geoNaturalEarth1().fitSize([W, H], { type: 'Sphere' }), []);
  const path = useMemo(() => geoPath(projection), [projection]);
  const [landD, setLand] = useState<string | null>(null);
  const [probe, setProbe] = useState<Probe | null>(null);
  const [probePath, setProbePath] = useState('/');
  useEffect(() => {
    let stopped = false;
    landPath(path).then((d) => !stopped && setLand(d));
    return () => {
      stopped = true;
    };
  }, [path]);

  const xy = (lat: number, lon: number) => projection([lon, lat]) ?? [0, 0];
  const shieldAt = new Map(shields.map((s) => [s.id, s]));
  const sphere = path({ type: 'Sphere' }) ?? '';

  const pick = (e: MouseEvent) => {
    const svg = e.currentTarget as SVGSVGElement;
    const box = svg.getBoundingClientRect();
    const p = projection.invert?.([
      ((e.clientX - box.left) / box.width) * W,
      ((e.clientY - box.top) / box.height) * H,
    ]);
    if (p && Number.isFinite(p[0]) && Number.isFinite(p[1]))
      setProbe({ at: [round(p[1]), round(p[0])], path: probePath });
  };

  const send = async () => {
    if (!probe) return;
    const [lat, lon] = probe.at;
    const started = performance.now();
    try {
      // From the page's own origin, as a client at that place; no dashboard cookie goes with it.
      const r = await fetch(probePath.startsWith('/') ? probePath : `/${probePath}`, {
        headers: { 'outpost-client-location': `${lat},${lon}` },
        credentials: 'omit',
        cache: 'no-store',
      });
      await r.arrayBuffer();
      const ray = r.headers.get('cf-ray') ?? '';
      setProbe({
        ...probe,
        result: {
          pop: /-([A-Z0-9]+)$/.exec(ray)?.[1] ?? '?',
          status: r.status,
          ms: Math.round(performance.now() - started),
          timing: r.headers.get('server-timing') ?? '',
        },
      });
    } catch (err) {
      setProbe({ ...probe, result: { error: (err as Error).message } });
    }
  };

  const served =
    probe?.result && 'pop' in probe.result
      ? pops.find((p) => p.id === (probe.result as { pop: string }).pop)
      : undefined;

  return html`
    <figure class="map">
      <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`World map of ${pops.length} PoPs and ${shields.length} shields; the table below lists them`} onClick=${pick}>
        <path class="sphere" d=${sphere} />
        ${landD ? html`<path class="land" d=${landD} />` : null}
        ${pops.map((p) => {
          const s = p.shield ? shieldAt.get(p.shield) : undefined;
          if (!s) return null;
          const [x1, y1] = xy(p.latitude, p.longitude);
          const [x2, y2] = xy(s.latitude, s.longitude);
          return html`<line class="fill-line" x1=${x1} y1=${y1} x2=${x2} y2=${y2} />`;
        })}
        ${shields.map((s) => {
          const [x, y] = xy(s.latitude, s.longitude);
          return html`<rect class="shield" x=${x - 5} y=${y - 5} width="10" height="10"><title>${`shield ${s.id} (${s.city})`}</title></rect>`;
        })}
        ${pops.map((p) => {
          const [x, y] = xy(p.latitude, p.longitude);
          const st = stats[p.id];
          const r = Math.min(3 + Math.sqrt(st?.rps ?? 0) * 1.5, 16);
          const state = p.out ? 'out' : !p.healthy ? 'unhealthy' : st?.errors ? 'errors' : 'healthy';
          return html`<circle
            class=${`pop ${state}${selected === p.id ? ' selected' : ''}`}
            data-pop=${p.id}
            cx=${x}
            cy=${y}
            r=${r}
            onClick=${(e: MouseEvent) => {
              e.stopPropagation();
              select(p.id);
            }}
          ><title>${`${p.id} ${p.city}: ${state}, ${(st?.rps ?? 0).toFixed(1)} req/s`}</title></circle>`;
        })}
        ${pops.map((p) => {
          const n = objects[p.id];
          if (!n) return null;
          const [x, y] = xy(p.latitude, p.longitude);
          return html`<g class="objects" data-pop=${p.id} transform=${`translate(${x + 6} ${y - 12})`}>
            <rect x="-1" y="-7" width=${8 + String(n).length * 6} height="10" rx="2" />
            <text x="1" y="1">${n}</text>
            <title>${`${n} Durable Object${n === 1 ? '' : 's'} at ${p.id}`}</title>
          </g>`;
        })}
        ${
          probe
            ? (
                () => {
                  const [x, y] = xy(probe.at[0], probe.at[1]);
                  const to = served ? xy(served.latitude, served.longitude) : null;
                  return html`
                  ${to ? html`<line class="probe-line" x1=${x} y1=${y} x2=${to[0]} y2=${to[1]} />` : null}
                  <circle class="client" cx=${x} cy=${y} r="5" />
                `;
                }
              )()
            : null
        }
      </svg>
      <figcaption>
        <span class="key"><i class="dot healthy"></i> healthy <i class="dot errors"></i> 5xx in the last 10 s <i class="dot unhealthy"></i> down <i class="sq"></i> shield <i class="sq do"></i> Durable Objects</span>
        <span>Circle size: requests a second. Click the map to place a client.</span>
      </figcaption>
    </figure>
    <form class="filters probe" onSubmit=${(e: Event) => {
      e.preventDefault();
      void send();
    }}>
      <label>Client latitude <input type="number" step="any" min="-90" max="90" required value=${probe?.at[0] ?? ''}
        onChange=${(e: any) => setProbe({ at: [Number(e.currentTarget.value), probe?.at[1] ?? 0], path: probePath })} /></label>
      <label>Client longitude <input type="number" step="any" min="-180" max="180" required value=${probe?.at[1] ?? ''}
        onChange=${(e: any) => setProbe({ at: [probe?.at[0] ?? 0, Number(e.currentTarget.value)], path: probePath })} /></label>
      <label>Path <input value=${probePath} onInput=${(e: any) => setProbePath(e.currentTarget.value)} /></label>
      <button type="submit" disabled=${!probe}>Send a test request</button>
    </form>
    <p class="result" role="status">
      ${
        probe?.result
          ? 'error' in probe.result
            ? html`<span class="bad">The request failed: ${probe.result.error}</span>`
            : html`From ${probe.at[0]}, ${probe.at[1]}: served by <strong>${probe.result.pop}</strong>${served ? ` (${served.city})` : ''}, ${probe.result.status} in ${probe.result.ms} ms${probe.result.timing ? html` <small>${probe.result.timing}</small>` : ''}`
          : probe
            ? 'Send a request to see which PoP serves a client there.'
            : ''
      }
    </p>
  `;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
