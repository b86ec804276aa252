// Adversarial tests of the Workflows replication layer (journal.ts, lease.ts, network.ts) on a
// real nats-server. Faults that are not conflicts (a publish that times out, a payload NATS
// refuses) are injected by wrapping the JetStream client's publish for the journal's subject.
import assert from 'node:assert/strict';
import { after, afterEach, before, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describeNeeding, NATS_SERVER } from '../../../test/support/programs.ts';
import { type NatsServer, startNatsServer } from '../../kv/nats-harness.ts';
import { WorkflowEngine } from './engine.ts';
import { JournalConflict, NatsWorkflowJournal, SUBJECT } from './journal.ts';
import { NatsWorkflows } from './network.ts';
import { type StepRow, WorkflowStore } from './store.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
};
const settledWithin = async (p: Promise<unknown>, ms: number) => {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await sleep(ms);
  return settled;
};
const step = (key: string, error: string | null = null): StepRow => ({
  key,
  kind: 'do',
  state: error ? 'failed' : 'done',
  attempts: 1,
  wake: null,
  config: null,
  output: null,
  error,
  eventType: null,
});

describeNeeding(NATS_SERVER, 'Workflows journal, lease and network under faults', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let proto: { publish: (subj: string, ...rest: unknown[]) => Promise<unknown> };
  let original: (subj: string, ...rest: unknown[]) => Promise<unknown>;
  /** How many of the next journal publishes fail as if NATS had not answered (never landed). */
  let failJournalPublishes = 0;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    proto = Object.getPrototypeOf(jetstream(nc));
    original = proto.publish;
    proto.publish = function (this: unknown, subj: string, ...rest: unknown[]) {
      if (subj === SUBJECT && failJournalPublishes > 0) {
        failJournalPublishes--;
        return Promise.reject(new Error('TIMEOUT (injected): the publish never reached the stream'));
      }
      return original.call(this, subj, ...rest);
    };
  });
  afterEach(() => {
    failJournalPublishes = 0;
  });
  after(async () => {
    proto.publish = original;
    await nc.close();
    await server.dispose();
  });

  const pair = async () => {
    const a = new WorkflowStore(':memory:');
    const b = new WorkflowStore(':memory:');
    const ja = await NatsWorkflowJournal.connect({ servers: server.url, store: a });
    const jb = await NatsWorkflowJournal.connect({ servers: server.url, store: b });
    await jb.follow();
    const lost: Error[] = [];
    await ja.lead('a', (err) => lost.push(err));
    return { a, b, ja, jb, lost };
  };

  it('a batch of multi-byte text is sized in bytes: it fits in NATS messages', async () => {
    const { a, b, ja, jb, lost } = await pair();
    try {
      const ref = { account: 'acct', workflow: 'wf', id: 'multibyte' };
      a.create(ref, null, 1);
      // 200 failed steps whose (4096-character, the binding's cap) messages are not ASCII, written
      // while a publish is in flight: one batch of ~800k characters, ~2.4 MB of UTF-8.
      for (let i = 0; i < 200; i++) a.putStep(ref, step(`do:s${i}:1`, '€'.repeat(4096)));
      await ja.flush();
      assert.deepEqual(lost, []);
      assert.ok(await waitFor(() => b.appliedSeq === a.appliedSeq));
      assert.equal(b.steps(ref).length, 200);
    } finally {
      await ja.close();
      await jb.close();
    }
  });

  it('after an append that failed (not a conflict), nothing later is journaled without it', async () => {
    const { a, b, ja, jb, lost } = await pair();
    try {
      const ref = { account: 'acct', workflow: 'wf', id: 'hole' };
      a.create(ref, null, 1);
      await ja.flush();
      failJournalPublishes = 1;
      a.putStep(ref, step('do:first:1')); // this append fails
      await assert.rejects(ja.flush(), (err) => !(err instanceof JournalConflict));
      assert.equal(lost.length, 1);
      // The engine goes on (the role change is asynchronous): a later write of the same leader.
      a.update({ ...ref, status: 'complete', output: null, error: null, pause: 0, failures: 0 }, 2);
      void ja.flush().catch(() => {});
      await sleep(1000);
      // The journal must stay a prefix of the leader's history: "complete" without its step is
      // a state no leader ever had.
      if (b.instance(ref)?.status === 'complete')
        assert.ok(
          b.step(ref, 'do:first:1'),
          `the follower (seq ${b.appliedSeq}, leader seq ${a.appliedSeq}) holds the later write but not the failed one`,
        );
    } finally {
      await ja.close();
      await jb.close();
    }
  });

  it('close() settles every flush() waiting on writes it did not append', async () => {
    const { a, ja, jb } = await pair();
    try {
      const ref = { account: 'acct', workflow: 'wf', id: 'closing' };
      a.create(ref, null, 1); // published at once
      a.putStep(ref, step('do:queued:1')); // queued behind it
      const f = ja.flush();
      f.catch(() => {});
      await ja.close();
      assert.ok(await settledWithin(f, 2000), 'flush() never settles after close(): a step hangs');
    } finally {
      await jb.close();
    }
  });

  const network = async (logs: string[], name: string) => {
    const store = new WorkflowStore(':memory:');
    const engine = new WorkflowEngine({
      store,
      run: async () => ({ kind: 'complete', value: null }) as never,
      log: () => {},
    });
    const w = await NatsWorkflows.start({
      servers: server.url,
      engine,
      store,
      leaseMs: 1000,
      log: (level, message) => logs.push(`${name} ${level}: ${message}`),
    });
    return { w, store };
  };

  it('a leader whose journal append fails (not a conflict) steps down: another process must take over', async () => {
    const logs: string[] = [];
    const one = await network(logs, 'one');
    const two = await network(logs, 'two');
    try {
      one.w.begin();
      two.w.begin();
      assert.ok(await waitFor(() => one.w.leading || two.w.leading));
      const leader = one.w.leading ? one : two;
      failJournalPublishes = 1;
      leader.store.create({ account: 'acct', workflow: 'wf', id: 'blip' }, null, Date.now());
      assert.ok(await waitFor(() => !leader.w.leading), 'the leader did not step down');
      // Lease 1 s: within 4 s someone must lead again.
      const led = await waitFor(() => one.w.leading || two.w.leading, 4000);
      assert.ok(led, `no process leads any more (the old one still holds the lease):\n${logs.join('\n')}`);
    } finally {
      await one.w.close();
      await two.w.close();
    }
  });

  it('a process whose lead() fails (its epoch append timed out) must not keep the lease', async () => {
    const logs: string[] = [];
    const one = await network(logs, 'one');
    const two = await network(logs, 'two');
    try {
      failJournalPublishes = 1; // the epoch
      one.w.begin();
      assert.ok(
        await waitFor(() => logs.some((l) => /changing role failed|could not take the lead/.test(l))),
        logs.join('\n'),
      );
      two.w.begin();
      const led = await waitFor(() => one.w.leading || two.w.leading, 4000);
      assert.ok(led, `no process leads (one holds the lease without leading):\n${logs.join('\n')}`);
    } finally {
      await one.w.close();
      await two.w.close();
    }
  });
});
