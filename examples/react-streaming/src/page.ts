// The page, with createElement (this repository's worker tsconfig compiles JSX for hono/jsx).
// Everything outside a <Suspense> boundary is the shell, which React sends first; a boundary
// sends its fallback in the shell and its content when the promise it `use`s settles.
import { createElement as h, type ReactNode, Suspense, use } from 'react';
import type { Profile, Recommendation } from './data';

export interface PageProps {
  country: string;
  city: string;
  colo: string;
  profile: Promise<Profile>;
  recommendations: Promise<Recommendation[]>;
}

function Greeting({ profile }: { profile: Promise<Profile> }): ReactNode {
  const p = use(profile);
  return h('p', { id: 'greeting' }, `Welcome back, ${p.name} (${p.plan} plan).`);
}

function Recommendations({ items }: { items: Promise<Recommendation[]> }): ReactNode {
  return h(
    'ul',
    { id: 'recommendations' },
    use(items).map((r) => h('li', { key: r.title }, h('b', null, r.title), ` — ${r.reason}`)),
  );
}

export function Page(props: PageProps): ReactNode {
  return h(
    'html',
    { lang: 'en' },
    h(
      'head',
      null,
      h('meta', { charSet: 'utf-8' }),
      h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      h('title', null, 'Outpost — streaming at the edge'),
    ),
    h(
      'body',
      null,
      h('nav', null, h('a', { href: '/' }, 'Home'), ' · ', h('a', { href: '/?mode=buffered' }, 'Buffered')),
      h(
        'header',
        { id: 'geo' },
        h('h1', null, 'Your front page'),
        h('p', null, `Rendered at ${props.colo} for a visitor in ${props.city}, ${props.country}.`),
      ),
      h(
        'main',
        null,
        h(
          Suspense,
          { fallback: h('p', { id: 'greeting-fallback' }, 'Loading your profile…') },
          h(Greeting, { profile: props.profile }),
        ),
        h('h2', null, 'Recommended for you'),
        h(
          Suspense,
          { fallback: h('p', { id: 'recommendations-fallback' }, 'Loading recommendations…') },
          h(Recommendations, { items: props.recommendations }),
        ),
      ),
    ),
  );
}
