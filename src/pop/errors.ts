import { LimitExceededError, OutpostError, ScriptLoadError, WorkerException } from '../runtime/index.ts';

/**
 * Runtime errors become HTTP responses here, at the PoP boundary, and nowhere else.
 * Development mode shows the source-mapped stack; production shows a plain message
 * (as Workers' "Error 1101: Worker threw exception" page does) and logs the details.
 */
export interface ErrorResponse {
  status: number;
  code: string;
  body: string;
}

export function errorResponse(err: unknown, dev: boolean): ErrorResponse {
  if (err instanceof LimitExceededError) return { status: 503, code: err.code, body: `${err.message}\n` };
  if (err instanceof WorkerException) {
    return {
      status: 500,
      code: err.code,
      body: dev
        ? `Worker threw an exception:\n\n${err.mappedStack || err.message}\n`
        : 'Worker threw an exception\n',
    };
  }
  if (err instanceof ScriptLoadError) {
    return {
      status: 500,
      code: err.code,
      body: dev ? `${err.message}\n\n${err.stack_ ?? ''}\n` : 'Worker failed to start\n',
    };
  }
  if (err instanceof OutpostError) {
    const status =
      err.code === 'NO_SUCH_WORKER' || err.code === 'NO_SUCH_POP'
        ? 404
        : err.code === 'BAD_LOCATION'
          ? 400
          : err.code === 'POP_DOWN' || err.code === 'NO_DEPLOYMENT'
            ? 503
            : err.code === 'LOOP_LIMIT'
              ? 508 // Loop Detected (RFC 5842 §7.2); Workers' error 1019
              : 500;
    return {
      status,
      code: err.code,
      body:
        dev ||
        status < 500 ||
        err.code === 'POP_DOWN' ||
        err.code === 'NO_DEPLOYMENT' ||
        err.code === 'LOOP_LIMIT'
          ? `${err.message}\n`
          : 'Internal error\n',
    };
  }
  return {
    status: 500,
    code: 'INTERNAL',
    body: dev ? `Internal error: ${(err as Error)?.stack ?? String(err)}\n` : 'Internal error\n',
  };
}
