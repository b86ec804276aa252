import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jetStreamSetup, natsServers, transientJetStream } from './nats.ts';

const timeout = () => Object.assign(new Error('timeout'), { name: 'TimeoutError' });

describe('natsServers', () => {
  it('splits a comma-separated list and refuses an empty one by name', () => {
    assert.deepEqual(natsServers('nats://a:4222, nats://b:4222,'), ['nats://a:4222', 'nats://b:4222']);
    assert.throws(() => natsServers(' , '), /--nats: no NATS server URL/);
  });
});

describe('jetStreamSetup', () => {
  it('knows which JetStream failures may pass when asked again', () => {
    assert.equal(transientJetStream(timeout()), true);
    assert.equal(transientJetStream(new Error('JetStream system temporarily unavailable')), true);
    assert.equal(transientJetStream(Object.assign(new Error('no responders'), { code: '503' })), true);
    assert.equal(
      transientJetStream(new Error('stream name already in use with a different configuration')),
      false,
    );
    assert.equal(transientJetStream(new Error('insufficient resources')), false);
  });

  it('asks again after a timeout and returns what the setup made', async () => {
    let calls = 0;
    const made = await jetStreamSetup('the test stream', async () => {
      calls++;
      if (calls < 3) throw timeout();
      return 'made';
    });
    assert.equal(made, 'made');
    assert.equal(calls, 3);
  });

  it('throws any other error at once, as it is', async () => {
    let calls = 0;
    const err = new Error('insufficient resources');
    await assert.rejects(
      jetStreamSetup('the test stream', async () => {
        calls++;
        throw err;
      }),
      (e) => e === err,
    );
    assert.equal(calls, 1);
  });

  it('gives up after its deadline, naming what it was making', async () => {
    let calls = 0;
    const started = Date.now();
    await assert.rejects(
      jetStreamSetup(
        'the test stream',
        async () => {
          calls++;
          throw timeout();
        },
        600,
      ),
      /the test stream: JetStream did not answer within 1 s \(TimeoutError: timeout\)/,
    );
    assert.ok(calls >= 2, `asked ${calls} times`);
    assert.ok(Date.now() - started < 2000);
  });
});
