import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  builtinTopology,
  distanceKm,
  loadTopology,
  parseLocation,
  Router,
  rttMs,
  validateTopology,
} from './index.ts';

const world = builtinTopology('world')!;

describe('topology', () => {
  it('world has PoPs on every inhabited continent and three shields', () => {
    assert.ok(world.pops.length >= 12);
    assert.deepEqual(
      new Set(world.pops.map((p) => p.continent)),
      new Set(['NA', 'SA', 'EU', 'AF', 'AS', 'OC']),
    );
    assert.deepEqual(
      world.shields.map((s) => s.id),
      ['us-east', 'eu-west', 'apac'],
    );
  });
  it('world-large has 300+ PoPs in real metro areas, valid by the same rules as a file', () => {
    const large = builtinTopology('world-large')!;
    assert.ok(large.pops.length >= 300, `${large.pops.length}`);
    assert.deepEqual(
      new Set(large.pops.map((p) => p.continent)),
      new Set(['NA', 'SA', 'EU', 'AF', 'AS', 'OC']),
    );
    // Every entry passes the topology file validation (ids unique, coordinates, IANA zones).
    assert.equal(
      validateTopology(large as unknown as Record<string, unknown>, 'world-large').pops.length,
      large.pops.length,
    );
    const router = new Router(large);
    const to = (where: string) => router.route(parseLocation(where, large))?.id;
    assert.deepEqual(['Nairobi', 'Lima', 'Osaka', 'Perth', 'Reykjavik', 'Honolulu', '-1.29,36.82'].map(to), [
      'NBO',
      'LIM',
      'KIX',
      'PER',
      'KEF',
      'HNL',
      'NBO',
    ]);
  });
  it('a topology file is validated, naming the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-topo-'));
    try {
      const file = join(dir, 'topo.json');
      const shield = {
        id: 's1',
        city: 'X',
        country: 'US',
        continent: 'NA',
        latitude: 1,
        longitude: 2,
        timezone: 'UTC',
      };
      const good = {
        name: 'mine',
        shields: [shield],
        origins: [{ ...shield, id: 'o1' }],
        pops: [{ ...shield, id: 'AAA', shield: 's1' }],
      };
      writeFileSync(file, JSON.stringify(good));
      assert.equal(loadTopology(file).pops[0].id, 'AAA');
      const bad: [unknown, RegExp][] = [
        [
          { ...good, pops: [{ ...good.pops[0], latitude: 120 }] },
          /"pops\[0\]\.latitude" must be a number between -90 and 90, received number 120/,
        ],
        [
          { ...good, pops: [{ ...good.pops[0], shield: 'nope' }] },
          /"pops\[0\]\.shield" must be the id of a shield \(s1\)/,
        ],
        [
          { ...good, pops: [{ ...good.pops[0], timezone: 'Mars/Olympus' }] },
          /"pops\[0\]\.timezone" must be an IANA time zone/,
        ],
        [{ ...good, pops: [{ ...good.pops[0], continent: 'XX' }] }, /"pops\[0\]\.continent" must be one of/],
        [{ ...good, pops: [] }, /"pops" must be a non-empty array/],
      ];
      for (const [body, re] of bad) {
        writeFileSync(file, JSON.stringify(body));
        assert.throws(() => loadTopology(file), re);
      }
      assert.throws(() => loadTopology('moon'), /one of local, world, world-large or a topology file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('latency model', () => {
  it('Mumbai ↔ northern Virginia is about the seed’s 280 ms round trip; a city to itself is a few hops', () => {
    const bom = world.pops.find((p) => p.id === 'BOM')!;
    const iad = world.pops.find((p) => p.id === 'IAD')!;
    assert.ok(Math.abs(distanceKm(bom, iad) - 13_000) < 300);
    const rtt = rttMs(bom, iad);
    assert.ok(rtt > 240 && rtt < 300, `${rtt}`);
    assert.ok(rttMs(bom, bom) < 2);
  });
});

describe('routing', () => {
  const router = new Router(world);
  const to = (where: string) => router.route(parseLocation(where, world))?.id;
  it('picks the nearest PoP on every continent', () => {
    const cases: [string, string][] = [
      ['Mumbai', 'BOM'],
      ['sao paulo', 'GRU'], // case and accents do not matter
      ['São Paulo', 'GRU'],
      ['35.6895,139.6917', 'NRT'], // Tokyo
      ['48.2082,16.3738', 'FRA'], // Vienna
      ['-33.9249,18.4241', 'JNB'], // Cape Town
      ['-12.0464,-77.0428', 'EZE'], // Lima: Buenos Aires is nearer than São Paulo
      ['40.7128,-74.006', 'IAD'], // New York
      ['47.6062,-122.3321', 'SFO'], // Seattle
      ['-37.8136,144.9631', 'SYD'], // Melbourne
      ['KE', 'JNB'], // Nairobi (capital): Johannesburg is nearer than Cairo
    ];
    for (const [where, pop] of cases) {
      const ranked = router.ranked(parseLocation(where, world));
      assert.equal(
        ranked[0].pop.id,
        pop,
        `${where}: ${ranked
          .slice(0, 3)
          .map((r) => `${r.pop.id} ${r.ms.toFixed(1)}`)
          .join(', ')}`,
      );
    }
    assert.equal(to('fr'), 'CDG');
  });
  it('a PoP marked down gets no traffic until it is healthy again', () => {
    router.setHealthy('BOM', false);
    assert.equal(to('Mumbai'), 'DXB');
    router.setHealthy('BOM', true);
    assert.equal(to('Mumbai'), 'BOM');
    assert.throws(() => router.setHealthy('XXX', false), /no PoP "XXX" in topology world/);
  });
  it('a location that means nothing is refused, naming it', () => {
    assert.throws(
      () => parseLocation('Atlantis', world, '--from'),
      /--from: "Atlantis" is not a known city, PoP code, country code or "latitude,longitude"/,
    );
    assert.throws(() => parseLocation('91,0', world), /latitude −90…90/);
  });
});
