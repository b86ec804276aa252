// The Workflows journal on a real nats-server: a follower's replica holds what the leader
// wrote (step outputs of 1 MiB in parts included); a new leader fences the old one, whose
// appends are refused; the old one rebuilds its replica from the journal; the lease goes to one
// process at a time and passes on when its holder stops renewing.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeNeeding, NATS_SERVER } from '../../../test/support/programs.ts';
import { type NatsServer, startNatsServer } from '../../kv/nats-harness.ts';
import { encodeValue } from './engine.ts';
import { JournalConflict, NatsWorkflowJournal } from './journal.ts';
import { NatsLease } from './lease.ts';
import { WorkflowStore } from './store.ts';

const waitFor = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describeNeeding(NATS_SERVER, 'Workflows journal and lease on NATS JetStream', () => {
  let server: NatsServer;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.dispose());

  it('a follower applies what the leader journals; a new leader fences the old one, which rebuilds', async () => {
    const a = new WorkflowStore(':memory:');
    const b = new WorkflowStore(':memory:');
    const ja = await NatsWorkflowJournal.connect({ servers: server.url, store: a });
    const jb = await NatsWorkflowJournal.connect({ servers: server.url, store: b });
    try {
      await jb.follow();
      let lostA: Error | null = null;
      await ja.lead('a', (err) => {
        lostA = err;
      });
      const ref = { account: 'acct', workflow: 'wf', id: 'i1' };
      a.create(ref, encodeValue({ n: 1 }, 'params'), 1000);
      const big = encodeValue('x'.repeat(1_000_000), 'output');
      a.putStep(ref, {
        key: 'do:big:1',
        kind: 'do',
        state: 'done',
        attempts: 1,
        wake: null,
        config: null,
        output: big,
        error: null,
        eventType: null,
      });
      a.addEvent(ref, 'go', null, 1001);
      await ja.flush();
      await waitFor(() => b.appliedSeq === a.appliedSeq);
      assert.equal(b.instance(ref)?.status, 'queued');
      assert.deepEqual(b.step(ref, 'do:big:1')?.output, big);
      assert.equal(b.hasEvent(ref, 'go'), true);
      // b takes the lead (a is "paused": its lease ran out); a's next append is refused.
      await jb.lead('b', () => {});
      a.update({ ...ref, status: 'running', output: null, error: null, pause: 0, failures: 0 }, 1002);
      await assert.rejects(ja.flush(), JournalConflict);
      await waitFor(() => lostA !== null);
      await ja.stepDown();
      // a's replica no longer has its refused write: rebuilt from the journal, it follows b.
      await waitFor(() => a.appliedSeq === b.appliedSeq);
      assert.equal(a.instance(ref)?.status, 'queued');
      b.update({ ...ref, status: 'complete', output: null, error: null, pause: 0, failures: 0 }, 1003);
      await jb.flush();
      await waitFor(() => a.instance(ref)?.status === 'complete');
    } finally {
      await ja.close();
      await jb.close();
    }
  });

  it('the lease is held by one process at a time and passes on when its holder stops', async () => {
    const held: string[] = [];
    const lease = (id: string) =>
      NatsLease.connect({
        servers: server.url,
        id,
        ttlMs: 600,
        onAcquire: () => held.push(`+${id}`),
        onLose: () => held.push(`-${id}`),
      });
    const x = await lease('x');
    const y = await lease('y');
    try {
      x.start();
      await waitFor(() => x.held);
      y.start();
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(y.held, false);
      await x.close(); // gives it up
      await waitFor(() => y.held, 3000);
      assert.deepEqual(held, ['+x', '+y']);
    } finally {
      await y.close();
    }
  });
});
