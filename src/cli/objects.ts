/**
 * `outpost do move <worker>/<Class> <name> --to POP`: move a Durable Object to a node of another
 * PoP of a network whose nodes share the network secret (docs/durable-objects.md#across-nodes).
 * The command asks the object's owner to hand it over: calls arriving meanwhile wait, the ones
 * running finish, every write is replicated, and a live node of POP takes the object. Nothing
 * acknowledged is lost; calls are held, not failed.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { natsServers } from '../config/index.ts';
import { OWNERS_BUCKET, type OwnerEntry, objectKey } from '../durable-objects/cluster/index.ts';
import { idFromName, invalidId } from '../durable-objects/index.ts';
import { Membership, objectPeers, popNodes } from '../network/index.ts';
import { CliError } from './cache.ts';
import type { Command } from './commands.ts';
import { NATS_OPTION as NATS, natsOf } from './nats.ts';
import { SECRET_FILE, secretOf } from './node.ts';

export const objectCommands: Command[] = [
  {
    name: 'do move',
    args: '<worker>/<Class> [name]',
    summary: 'Move a Durable Object to a node of another PoP (a network of nodes sharing the secret)',
    options: [
      NATS,
      SECRET_FILE,
      { name: 'to', type: 'string', help: 'the PoP to move it to (one of its nodes must be live)' },
      { name: 'id', type: 'string', help: 'the object id (64 hex digits) instead of a name' },
    ],
    async run(positionals, v, io) {
      const [cls, name] = positionals;
      const slash = cls?.indexOf('/') ?? -1;
      if (!cls || slash <= 0 || slash === cls.length - 1)
        throw new CliError(
          'give the class as <worker>/<Class>, e.g. outpost do move chat/ChatRoom lobby --to AMS',
        );
      const worker = cls.slice(0, slash);
      const className = cls.slice(slash + 1);
      const ns = `${worker}/${className}`;
      if (typeof v.to !== 'string' || !v.to)
        throw new CliError('give --to POP (the PoP to move the object to)');
      const to = v.to.toUpperCase();
      const secret = secretOf(v);
      if (!secret)
        throw new CliError(
          'give the network secret (--secret-file or $OUTPOST_NETWORK_SECRET): nodes take calls only with it',
        );
      let id: string;
      if (typeof v.id === 'string') {
        const why = invalidId(ns, v.id);
        if (why) throw new CliError(`--id: ${why}`);
        id = v.id;
      } else if (name) id = idFromName(ns, name);
      else throw new CliError('give the object: its name, or --id HEX');
      const servers = natsOf(v);
      const members = await Membership.connect({ servers });
      const nc = await connect({ servers: natsServers(servers), name: 'outpost-do-move' });
      // A move may wait for running calls (up to 30 s) and then for the new owner to restore it.
      const peers = objectPeers({ secret, timeoutMs: 180_000 });
      try {
        await members.watch();
        const target = popNodes(members.members()).find((m) => m.pop === to);
        if (!target) throw new CliError(`no live node serves PoP ${to}`);
        const kv = await new Kvm(nc).open(OWNERS_BUCKET);
        const e = await kv.get(objectKey(ns, id));
        const owner = e?.operation === 'PUT' && e.value.length > 0 ? e.json<OwnerEntry>() : null;
        const label = `${ns} ${name ?? id}`;
        const dest = { node: target.id, pop: target.pop, url: target.peer ?? target.url };
        const base = {
          tenant: worker,
          className,
          id,
          name: name ?? null,
          hint: null,
          hops: 2,
          invocations: 1,
        };
        const started = Date.now();
        if (!owner || owner.until <= Date.now()) {
          // Nobody holds it: the node of `to` takes it (restored from its journal, if it has one).
          await peers.call(
            { ...dest, epoch: 0, until: 0, ns, id, name: name ?? null },
            { ...base, op: { kind: 'take' } },
          );
          io.out(`${label}: nobody held it; now at ${to} (${target.id}), ${Date.now() - started} ms\n`);
          return 0;
        }
        if (owner.pop === to) {
          io.out(`${label} is already at ${to} (${owner.node})\n`);
          return 0;
        }
        await peers.call(owner, { ...base, op: { kind: 'move', to: dest } });
        io.out(
          `${label}: moved from ${owner.pop} (${owner.node}) to ${to} (${target.id}) in ${Date.now() - started} ms\n`,
        );
        return 0;
      } finally {
        await peers.close();
        await nc.close();
        await members.close();
      }
    },
  },
];
