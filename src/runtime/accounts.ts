/**
 * Accounts: who a worker belongs to. A worker reaches other workers (service bindings,
 * `script_name` Durable Object bindings) and shared data (KV namespaces named by id) only within
 * its own account, as on Cloudflare, where bindings cannot cross accounts.
 *
 * The account is the config's `account_id`, trusted as the operator's: whoever deploys the
 * config vouches for it (`outpost dev` runs the configs its operator names). A deploy path that
 * takes configs from tenants must set the account from the tenant's credentials instead
 * (Runtime.deploy's `account` option overrides the config's). Workers without one share the
 * default account, so `outpost dev a b` keeps working as `wrangler dev -c a -c b` does.
 */
import { NamedError } from './bridge/named-error.ts';
import type { WorkerVersion } from './types.ts';

export const DEFAULT_ACCOUNT = 'local';

/**
 * The store name of KV namespace `id` of `account`. The default account keeps the bare id (the
 * data of projects from before accounts); config ids cannot hold "/" (src/config/bindings.ts).
 */
export function kvNamespaceOf(account: string, id: string): string {
  return account === DEFAULT_ACCOUNT ? id : `${account}/${id}`;
}

/**
 * The target worker of a binding, if it runs and is in the caller's account. One message for
 * both "not running" and "another account's": a binding must not tell a tenant which names run
 * elsewhere on the machine.
 */
export function sameAccountTarget(
  from: WorkerVersion,
  target: WorkerVersion | undefined,
  what: string,
  name: string,
): WorkerVersion {
  if (!target || target.account !== from.account)
    throw new NamedError(
      `${what} points to the worker "${name}", which is not running in this account`,
      'Error',
    );
  return target;
}
