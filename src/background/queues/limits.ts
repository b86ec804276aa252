/**
 * Cloudflare Queues limits and the errors a producer sees when it goes past them.
 *
 * Limits: https://developers.cloudflare.com/queues/platform/limits/ — a message is at most
 * 128 KB, a sendBatch() at most 100 messages and 256 KB in all (1 KB = 1000 bytes there), and
 * `delaySeconds` (on send and on retry) at most 24 hours: the limit was 12 hours (43200) until
 * February 2026, when Cloudflare raised it (cloudflare-docs #28335, workers-sdk #12597, whose
 * miniflare now accepts 0–86400). Error texts: workerd prefixes the queue service's answer
 * with `Queue send failed: ` / `Queue sendBatch failed: ` (src/workerd/api/queue.c++); the
 * answers are the ones miniflare's broker gives (packages/miniflare/src/workers/queues/
 * broker.worker.ts), and `code` is the Queues error code
 * (https://developers.cloudflare.com/queues/reference/error-codes/).
 */

export const QUEUE_LIMITS = {
  /** Bytes of one message body. */
  MAX_MESSAGE_BYTES: 128_000,
  /** Messages in one sendBatch(). */
  MAX_BATCH_MESSAGES: 100,
  /** Bytes of all the bodies of one sendBatch(). */
  MAX_BATCH_BYTES: 256_000,
  /** delaySeconds on send and on retry (24 h). */
  MAX_DELAY_SECONDS: 86_400,
  /** Cloudflare's default max_retries for a consumer. */
  DEFAULT_MAX_RETRIES: 3,
  /** The most max_retries may be. */
  MAX_RETRIES: 100,
  /** The content types a message may have (workerd's validateContentType). */
  CONTENT_TYPES: ['text', 'bytes', 'json', 'v8'] as readonly string[],
} as const;

/** Queues error codes (the reference's client side errors). */
export const QUEUE_ERROR_CODES = {
  MessageMetadataInvalid: 10203,
  MessageSizeOutOfBounds: 10204,
  BatchSizeOutOfBounds: 10205,
  BatchCountOutOfBounds: 10206,
} as const;

export class QueueError extends Error {
  constructor(
    /** The HTTP status the queue service answers (413 for sizes, 400 otherwise). */
    readonly status: number,
    /** The Queues error code. */
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'QueueError';
  }
}

export interface QueueSendMessage {
  body: Uint8Array;
  contentType: string;
  delaySeconds?: number;
}

/** Which producer call a send comes from: it names the failure as workerd does. */
export type SendKind = 'send' | 'sendBatch';

/** Check a delay (send or retry); returns it, 0 when undefined. */
export function validateDelay(delaySeconds: number | undefined, prefix = ''): number {
  if (delaySeconds === undefined) return 0;
  if (
    typeof delaySeconds !== 'number' ||
    !Number.isInteger(delaySeconds) ||
    delaySeconds < 0 ||
    delaySeconds > QUEUE_LIMITS.MAX_DELAY_SECONDS
  )
    throw new QueueError(
      400,
      QUEUE_ERROR_CODES.MessageMetadataInvalid,
      `${prefix}message delay ${delaySeconds} is invalid: delaySeconds must be an integer between 0 and ${QUEUE_LIMITS.MAX_DELAY_SECONDS}`,
    );
  return delaySeconds;
}

/**
 * Check what a producer sends, as the queue service does; throws a QueueError whose message
 * reads as the Worker sees it (`Queue send failed: message length of … exceeds limit of 128000`).
 */
export function validateSend(messages: readonly QueueSendMessage[], kind: SendKind = 'sendBatch'): void {
  const prefix = `Queue ${kind} failed: `;
  if (kind === 'sendBatch' && messages.length > QUEUE_LIMITS.MAX_BATCH_MESSAGES)
    throw new QueueError(
      413,
      QUEUE_ERROR_CODES.BatchCountOutOfBounds,
      `${prefix}batch message count of ${messages.length} exceeds limit of ${QUEUE_LIMITS.MAX_BATCH_MESSAGES}`,
    );
  let total = 0;
  for (const m of messages) {
    const n = m.body.byteLength;
    total += n;
    if (n > QUEUE_LIMITS.MAX_MESSAGE_BYTES)
      throw new QueueError(
        413,
        QUEUE_ERROR_CODES.MessageSizeOutOfBounds,
        kind === 'send'
          ? `${prefix}message length of ${n} bytes exceeds limit of ${QUEUE_LIMITS.MAX_MESSAGE_BYTES}`
          : `${prefix}message in batch has length ${n} bytes which exceeds single message size limit of ${QUEUE_LIMITS.MAX_MESSAGE_BYTES}`,
      );
    if (!QUEUE_LIMITS.CONTENT_TYPES.includes(m.contentType))
      throw new QueueError(
        400,
        QUEUE_ERROR_CODES.MessageMetadataInvalid,
        `${prefix}message content type ${m.contentType} is invalid; if specified, must be one of 'text', 'json', 'bytes', or 'v8'`,
      );
    validateDelay(m.delaySeconds, prefix);
  }
  if (total > QUEUE_LIMITS.MAX_BATCH_BYTES)
    throw new QueueError(
      413,
      QUEUE_ERROR_CODES.BatchSizeOutOfBounds,
      `${prefix}batch size of ${total} bytes exceeds limit of ${QUEUE_LIMITS.MAX_BATCH_BYTES}`,
    );
}

/** Check a consumer's max_retries. */
export function validateMaxRetries(maxRetries: number): void {
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > QUEUE_LIMITS.MAX_RETRIES)
    throw new RangeError(
      `max_retries must be an integer between 0 and ${QUEUE_LIMITS.MAX_RETRIES}, received ${maxRetries}`,
    );
}
