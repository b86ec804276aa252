// Static assets with content hashes in their names, as a bundler writes them: immutable, cached
// for a year at the edge and in browsers (the seed's 'static-immutable' class).
import { createHash } from 'node:crypto';

const files = {
  css: { body: 'body{font-family:system-ui;margin:2rem}main{max-width:40rem}', type: 'text/css', ext: 'css' },
  js: { body: 'document.documentElement.dataset.edge = "ready";', type: 'text/javascript', ext: 'js' },
};

const byPath = new Map();
export const ASSETS = {};
for (const [name, f] of Object.entries(files)) {
  const hash = createHash('sha256').update(f.body).digest('hex').slice(0, 8);
  const path = `/assets/app.${hash}.${f.ext}`;
  ASSETS[name] = path;
  byPath.set(path, f);
}

export function asset(path) {
  return byPath.get(path) ?? null;
}
