/** Typed runtime errors with stable codes; the PoP turns them into HTTP responses. */
export class OutpostError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OutpostError';
  }
}

/** esbuild could not bundle the project; `message` lists each problem as file:line:col. */
export class BundleError extends OutpostError {
  constructor(message: string) {
    super('BUNDLE_FAILED', message);
    this.name = 'BundleError';
  }
}

/** The worker script failed while loading (top-level throw, no fetch handler, ...). */
export class ScriptLoadError extends OutpostError {
  constructor(
    message: string,
    readonly stack_?: string,
  ) {
    super('SCRIPT_LOAD_FAILED', message);
    this.name = 'ScriptLoadError';
  }
}

export type LimitName = 'cpu' | 'memory' | 'wall' | 'subrequests';

const LIMIT_TEXT: Record<LimitName, string> = {
  cpu: 'Worker exceeded CPU time limit',
  memory: 'Worker exceeded memory limit',
  wall: 'Worker exceeded wall-clock time limit',
  subrequests: 'Worker exceeded subrequest limit',
};

/** A per-request limit was breached; the isolate that breached it is recycled. */
export class LimitExceededError extends OutpostError {
  constructor(
    readonly limit: LimitName,
    readonly detail: string,
  ) {
    super(`LIMIT_${limit.toUpperCase()}`, `${LIMIT_TEXT[limit]} (${detail})`);
    this.name = 'LimitExceededError';
  }
}

/** The worker threw (or rejected) while handling a request. */
export class WorkerException extends OutpostError {
  /** The worker called ctx.passThroughOnException() before throwing. */
  passThrough = false;
  constructor(
    message: string,
    /** Stack with frames mapped to the user's sources. */
    readonly mappedStack: string,
  ) {
    super('WORKER_EXCEPTION', message);
    this.name = 'WorkerException';
  }
}
