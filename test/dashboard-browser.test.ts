// The dashboard in a real browser (Debian's chromium driven by playwright-core; nothing
// downloads a browser): each view renders against a network running in the test, a request
// arrives live and opens with its detail and the waterfall of its spans, a purge from the page reaches the PoPs' caches, the KV
// view shows a version spreading from the PoP that wrote it. Screenshots of every view go to
// OUTPOST_SCREENSHOTS (else a temporary folder).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';
import { CHROMIUM, describeNeeding } from './support/programs.ts';

describeNeeding(CHROMIUM, 'the dashboard in a browser', () => {
  let dev: TestDev;
  let project: ReturnType<typeof copyFixture>;
  let browser: Browser;
  let page: Page;
  const shots = process.env.OUTPOST_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'outpost-dashboard-'));
  const shot = async (name: string) => {
    mkdirSync(shots, { recursive: true });
    const path = join(shots, `dashboard-${name}.png`);
    await page.screenshot({ path });
    assert.ok(existsSync(path));
  };

  before(async () => {
    project = copyFixture('kv');
    dev = await startFixture(project.dir, { topology: 'world', kv: { propagationMs: 3000 } });
    const { chromium } = await import('playwright-core');
    // The system's chromium, found on PATH (describeNeeding checked it runs).
    const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  after(async () => {
    await browser?.close();
    await dev?.close();
    project?.cleanup();
    if (!process.env.OUTPOST_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
  });

  it('requests arrive live, and one opens with its status, PoP and console', async () => {
    await page.goto(`${dev.url}/__outpost/#requests`);
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    const r = await fetch(`${dev.url}/get?key=dash-live`, { headers: { 'outpost-pop': 'CDG' } });
    assert.equal(r.status, 200);
    const link = page.getByRole('button', { name: /Open .*\/get\?key=dash-live/ });
    await link.waitFor({ timeout: 10_000 });
    await link.click();
    const detail = page.getByRole('complementary', { name: 'Request detail' });
    await detail.waitFor();
    const text = await detail.innerText();
    assert.match(text, /Status\s+200/);
    assert.match(text, /PoP\s+CDG/);
    // Its waterfall: the PoP's span, the route from the client, the worker and its KV read.
    const waterfall = detail.getByRole('table', { name: 'Spans of this request' });
    await waterfall.waitFor({ timeout: 10_000 });
    const rows = await waterfall.locator('tbody th[scope="row"]').allInnerTexts();
    assert.match(rows[0], /^GET/);
    // …and the response's headers as sent.
    const sent = await detail.locator('table.response-headers').innerText();
    assert.match(sent, /content-type\s+application\/json/);
    assert.match(sent, /cf-ray\s+[0-9a-f]+-CDG/);
    for (const hop of [/outpost\.route\s+client to CDG/, /outpost\.worker/, /kv_get\s+GET STORE/])
      assert.ok(
        rows.some((r) => hop.test(r)),
        `${hop} in ${JSON.stringify(rows)}`,
      );
    await shot('requests');
  });

  it('picking a cache status lists every request answered with it, and opens its waterfall', async () => {
    await page.goto(`${dev.url}/__outpost/#requests`);
    await page.getByRole('status').filter({ hasText: 'live' }).first().waitFor({ timeout: 10_000 });
    await page.getByRole('combobox', { name: 'Cache' }).selectOption('none');
    await page.getByText('Every request answered with cache status').waitFor({ timeout: 10_000 });
    await page.locator('p .state.live').waitFor({ timeout: 10_000 });
    const r = await fetch(`${dev.url}/get?key=by-cache`, { headers: { 'outpost-pop': 'LHR' } });
    assert.equal(r.status, 200);
    const row = page.locator('table.answered tbody tr', { hasText: '/get' }).first();
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allInnerTexts();
    assert.deepEqual([cells[1], cells[2], cells[5], cells[6]], ['LHR', 'kv', '200', 'none']);
    await row.getByRole('button', { name: 'Open /get' }).click();
    await page.getByRole('table', { name: 'Spans of this request' }).waitFor({ timeout: 10_000 });
    await page.getByRole('combobox', { name: 'Cache' }).selectOption('');
  });

  it('a live stream the server ended reconnects by itself, and requests arrive again', async () => {
    await page.goto(`${dev.url}/__outpost/#requests`);
    const state = page.locator('#requests-title .state');
    await state.filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    dev.tail.close(); // every tail session ended, as a server going away does
    await state.filter({ hasText: 'reconnecting' }).waitFor({ timeout: 5000 });
    await state.filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    assert.equal(dev.tail.sessions, 1, 'the page subscribed again');
    const r = await fetch(`${dev.url}/get?key=after-reconnect`, { headers: { 'outpost-pop': 'CDG' } });
    assert.equal(r.status, 200);
    await page
      .getByRole('button', { name: /Open .*\/get\?key=after-reconnect/ })
      .waitFor({ timeout: 10_000 });
  });

  it('the Logs view shows console lines as they happen, with the tail’s filters and a level filter', async () => {
    await page.goto(`${dev.url}/__outpost/#logs`);
    const state = page.locator('#logs-title .state');
    await state.filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    const log = (text: string, levels: string) =>
      fetch(`${dev.url}/log?text=${text}&levels=${levels}`, { headers: { 'outpost-pop': 'AMS' } }).then((r) =>
        r.text(),
      );
    await log('first-line', 'log,warn');
    const lines = page.locator('ol.tail-lines li');
    await lines.filter({ hasText: 'warn: first-line' }).waitFor({ timeout: 10_000 });
    assert.match(
      await lines.filter({ hasText: 'log: first-line' }).innerText(),
      /log\s+kv@AMS\s+log: first-line/,
    );
    // The level filter keeps warnings only; the search filter (the server's) reopens the stream.
    await page.getByLabel('Level').selectOption('warn');
    assert.equal(await lines.filter({ hasText: 'log: first-line' }).count(), 0);
    assert.equal(await lines.filter({ hasText: 'warn: first-line' }).count(), 1);
    await page.getByLabel('Level').selectOption('');
    await page.getByLabel('Search').fill('needle');
    await page.getByLabel('Search').press('Tab');
    // Until the new stream is open: lines matching the search arrive.
    const needle = lines.filter({ hasText: 'info: needle' }).first();
    for (let i = 0; i < 30 && !(await needle.isVisible()); i++) {
      await log('needle', 'info');
      await page.waitForTimeout(200);
    }
    await needle.waitFor({ timeout: 5000 });
    await log('hay', 'log');
    await log('needle-two', 'info');
    await lines.filter({ hasText: 'info: needle-two' }).waitFor({ timeout: 10_000 });
    assert.equal(await lines.filter({ hasText: 'hay' }).count(), 0, 'filtered out by the server');
    await shot('logs');
  });

  it('the Workers view lists the deployed worker with its version and figures', async () => {
    await page.goto(`${dev.url}/__outpost/#workers`);
    const row = page.locator('table.workers tbody tr', { hasText: 'kv' });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allInnerTexts();
    assert.match(cells[0], /^kv@[0-9a-f]{12}\s+compat 2025-06-01$/);
    assert.ok(Number(cells[1]) > 0, `requests ${cells[1]}`);
    assert.match(cells[5], /^\d+\.\d\d ms$/);
    await shot('workers');
  });

  it('the network view maps the PoPs with their health and live traffic; a client placed in Tokyo is served nearby', async () => {
    await page.goto(`${dev.url}/__outpost/#network`);
    await page.getByRole('rowheader', { name: 'LHR' }).waitFor({ timeout: 10_000 });
    const rows = await page.locator('table.pops tbody tr').count();
    assert.ok(rows > 10, `${rows} PoPs`);
    // Every PoP on the map, over the land outline.
    assert.equal(await page.locator('figure.map circle.pop').count(), rows);
    await page.locator('figure.map path.land').waitFor({ timeout: 10_000 });
    // Traffic at FRA shows in its row within the next reads (every 2 s).
    for (let i = 0; i < 20; i++)
      assert.equal(
        (await fetch(`${dev.url}/get?key=map`, { headers: { 'outpost-pop': 'FRA' } })).status,
        200,
      );
    const fra = page.locator('#pop-FRA');
    for (let i = 0; i < 60 && (await fra.locator('td.num').first().innerText()) === '0.0'; i++)
      await page.waitForTimeout(100);
    const cells = await fra.locator('td.num').allInnerTexts();
    assert.ok(Number(cells[0]) > 0, `FRA req/s ${cells[0]}`);
    assert.match(cells[3], /^\d+\.\d$/, `FRA p50 ${cells[3]}`);
    // A PoP clicked on the map is selected in the table.
    await page.locator('figure.map circle.pop[data-pop="FRA"]').click();
    await page.locator('#pop-FRA.selected').waitFor();
    // A client placed in Tokyo: its test request is served by NRT.
    await page.getByLabel('Client latitude').fill('35.68');
    await page.getByLabel('Client longitude').fill('139.69');
    await page.getByLabel('Path').last().fill('/get?key=probe');
    await page.getByRole('button', { name: 'Send a test request' }).click();
    await page.getByRole('status').filter({ hasText: 'served by' }).waitFor({ timeout: 10_000 });
    assert.match(await page.locator('p.result').innerText(), /served by NRT \(Tokyo\), 200/);
    assert.equal(await page.locator('figure.map line.probe-line').count(), 1);
    await page.evaluate(() =>
      (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
    );
    await shot('network');
  });

  it('a purge from the page empties the PoPs’ caches, each acknowledging', async () => {
    // An entry in LHR's Cache API store, seen by the admin API.
    assert.equal(
      (await fetch(`${dev.url}/cache-put?key=purge-me`, { headers: { 'outpost-pop': 'LHR' } })).status,
      200,
    );
    const lhrEntries = async () => {
      const r = await fetch(`${dev.url}/__outpost/cache/stats`, {
        headers: { authorization: `Bearer ${dev.adminToken}` },
      });
      const caches = ((await r.json()) as { caches: { tier: string; id: string; entries: number }[] }).caches;
      return caches.find((c) => c.tier === 'api' && c.id === 'LHR')?.entries;
    };
    assert.equal(await lhrEntries(), 1);
    await page.goto(`${dev.url}/__outpost/#cache`);
    // The caches' table: every PoP that served has its HTTP cache and Cache API store, and the tiers.
    const caption = page.locator('table.caches caption');
    await caption.waitFor({ timeout: 10_000 });
    assert.match(await caption.innerText(), /^\d+ of \d+ caches in use/);
    await page.getByLabel('everything').check();
    await page.getByRole('button', { name: 'Purge' }).click();
    const result = page.locator('p.result.ok');
    await result.waitFor({ timeout: 10_000 });
    assert.match(await result.innerText(), /^Purged \d+ entr(y|ies); \d+ caches? acknowledged\.$/);
    // Each cache's acknowledgement, LHR's Cache API store among them; it is empty now.
    assert.match(await page.getByRole('list', { name: 'Acknowledged by' }).innerText(), /LHR\s+Cache API: 1/);
    assert.equal(await lhrEntries(), 0);
    await shot('cache');
  });

  it('the KV view shows a version written at one PoP spreading to the others', async () => {
    // Other PoPs have served: their columns are there before the write.
    for (const pop of ['IAD', 'SFO'])
      assert.equal(
        (await fetch(`${dev.url}/get?key=other`, { headers: { 'outpost-pop': pop } })).status,
        200,
      );
    await page.goto(`${dev.url}/__outpost/#kv`);
    // An unknown binding is named, not a blank view.
    await page.getByLabel('Binding or namespace id').fill('NOPE');
    await page.getByRole('button', { name: 'Watch' }).click();
    await page.getByRole('alert').filter({ hasText: 'received NOPE' }).waitFor({ timeout: 10_000 });
    await page.getByLabel('Binding or namespace id').fill('STORE');
    await page.getByLabel('Key prefix').fill('dash-');
    await page.getByRole('button', { name: 'Watch' }).click();
    await page.getByText('No keys with that prefix.').waitFor({ timeout: 10_000 });
    const w = await fetch(`${dev.url}/put?key=dash-kv&value=one`, { headers: { 'outpost-pop': 'LHR' } });
    assert.equal(w.status, 200);
    const row = page.locator('table.kv tbody tr', { hasText: 'dash-kv' });
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /v1.*from LHR/s);
    // Seen at LHR at once; the PoPs that did not write it are behind until it propagates (3 s).
    assert.ok((await row.locator('td.behind').count()) > 0, 'other PoPs behind at first');
    await shot('kv-spreading');
    const behind = page.locator('table.kv tbody tr td.behind');
    for (let i = 0; i < 150 && (await behind.count()) > 0; i++) await page.waitForTimeout(100);
    assert.equal(await behind.count(), 0, 'every PoP caught up');
    await shot('kv');
  });

  it('the Durable Objects view renders (no objects in this project)', async () => {
    await page.goto(`${dev.url}/__outpost/#objects`);
    await page.getByText('No objects yet.').waitFor({ timeout: 10_000 });
  });

  it('Durable Objects: state, WebSockets, storage and alarm per object; their placement on the map', async () => {
    const durable = copyFixture('durable');
    const d = await startFixture(durable.dir, { topology: 'world', durableObjects: { idleMs: 300 } });
    const ws = new WebSocket(`${d.url.replace('http', 'ws')}/chat?name=lobby&user=ann`, {
      headers: { 'outpost-pop': 'SIN' },
    });
    try {
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const q = new URLSearchParams({ name: 'dash-counter', method: 'armAlarm', args: '[3600000]' });
      const r = await fetch(`${d.url}/rpc?${q}`, { headers: { 'outpost-pop': 'FRA' } });
      assert.equal(r.status, 200);
      await page.goto(`${d.url}/__outpost/#objects`);
      const chat = page.locator('table.objects tbody tr', { hasText: 'lobby' });
      // Idle past 300 ms with its socket open: hibernating.
      await chat.locator('td.do-hibernating').waitFor({ timeout: 10_000 });
      const chatCells = await chat.locator('td').allInnerTexts();
      assert.equal(chatCells[2], 'SIN');
      assert.equal(chatCells[4], '1', 'one hibernatable WebSocket');
      const counter = page.locator('table.objects tbody tr', { hasText: 'dash-counter' });
      const cells = await counter.locator('td').allInnerTexts();
      assert.equal(cells[2], 'FRA');
      assert.match(cells[5], /^\d+(\.\d)? (B|KB)$/, `storage ${cells[5]}`);
      assert.notEqual(cells[6], '—', 'its alarm');
      assert.match(await page.locator('table.namespaces').innerText(), /durable\/Chat\s+0\s+1\s+0/);
      await shot('objects');
      await page.goto(`${d.url}/__outpost/#network`);
      await page.locator('figure.map g.objects[data-pop="FRA"]').waitFor({ timeout: 10_000 });
      await page.locator('figure.map g.objects[data-pop="SIN"]').waitFor({ timeout: 10_000 });
    } finally {
      ws.close();
      await d.close();
      durable.cleanup();
    }
  });

  it('a network of 360 PoPs: the map draws them all and stays responsive', async () => {
    const big = copyFixture('kv');
    const large = await startFixture(big.dir, { topology: 'world-large' });
    try {
      const started = performance.now();
      await page.goto(`${large.url}/__outpost/#network`);
      await page.getByRole('rowheader', { name: 'NRT' }).waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('figure.map circle.pop').count(), 360);
      const drawn = performance.now() - started;
      // A click on a PoP selects its row; the page answers while the data refreshes every 2 s.
      const clicks: number[] = [];
      for (const id of ['SYD', 'GRU', 'LHR']) {
        const t = performance.now();
        await page.locator(`figure.map circle.pop[data-pop="${id}"]`).click();
        await page.locator(`#pop-${id}.selected`).waitFor({ timeout: 5000 });
        clicks.push(performance.now() - t);
      }
      console.log(
        `# 360 PoPs: drawn in ${drawn.toFixed(0)} ms, selections in ${clicks.map((c) => c.toFixed(0)).join(', ')} ms`,
      );
      assert.ok(Math.max(...clicks) < 1000, `selections took ${clicks.join(', ')} ms`);
      await page.evaluate(() =>
        (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
      );
      await shot('network-360');
    } finally {
      await large.close();
      big.cleanup();
    }
  });

  it('at phone width the views still fit (no horizontal scroll)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${dev.url}/__outpost/#requests`);
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    // Runs in the page (this file is type-checked without the DOM's types).
    const overflow = await page.evaluate(() => {
      const w = globalThis as unknown as {
        document: { documentElement: { scrollWidth: number } };
        innerWidth: number;
      };
      return w.document.documentElement.scrollWidth - w.innerWidth;
    });
    assert.ok(overflow <= 0, `${overflow} px wider than the screen`);
    await shot('phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
