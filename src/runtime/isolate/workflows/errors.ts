/**
 * The `cloudflare:workflows` module (workers-types): NonRetryableError, which a step's callback
 * throws to fail the step at once, without the retries its config allows.
 */
import { registerBuiltin } from '../modules.ts';

export class NonRetryableError extends Error {
  constructor(message?: string, name = 'NonRetryableError') {
    super(message);
    this.name = name;
  }
}

/** A step's error as the engine stored it, thrown again in run(). */
export function stepError(e: { name: string; message: string }): Error {
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

registerBuiltin('cloudflare:workflows', () => Object.freeze({ __esModule: true, NonRetryableError }));
