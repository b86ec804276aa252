// `outpost geodns`: a real DNS responder started from the CLI, asked over UDP.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Packet } from 'dns-packet';
import { dnsQuery } from '../src/network/dns-client.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'outpost.mjs');

describe('outpost geodns', () => {
  it('answers the hostname with the PoP nearest the client subnet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-geodns-'));
    writeFileSync(
      join(dir, 'addresses.json'),
      JSON.stringify({ SIN: { a: ['192.0.2.17'] }, FRA: { a: ['192.0.2.10'] } }),
    );
    writeFileSync(
      join(dir, 'networks.json'),
      JSON.stringify([{ cidr: '203.0.113.0/24', location: 'Singapore' }]),
    );
    const child = spawn(
      process.execPath,
      [
        BIN,
        'geodns',
        '--hostname',
        'edge.example.com',
        '--addresses',
        join(dir, 'addresses.json'),
        '--networks',
        join(dir, 'networks.json'),
        '--from',
        'Frankfurt',
        '--port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no port printed: ${out}`)), 15000);
        const onData = (d: Buffer) => {
          out += d;
          const m = /on 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      const ask = (ecs?: string) => dnsQuery(port, { type: 'A', name: 'edge.example.com' }, ecs);
      const first = (p: Packet) => (p.answers?.[0] as { data: string } | undefined)?.data;
      assert.equal(first(await ask('203.0.113.0')), '192.0.2.17');
      assert.equal(first(await ask()), '192.0.2.10', 'unplaced clients route from --from');
    } finally {
      child.kill('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
