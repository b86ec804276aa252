/**
 * R2's limits (https://developers.cloudflare.com/r2/platform/limits/) and error texts
 * (https://developers.cloudflare.com/r2/api/error-codes/), as a worker sees them. Workers report
 * an R2 failure as a plain Error reading `<operation>: <message> (<code>)`
 * (`put: The specified object name is not valid. (10020)`); the binding adds the operation, this
 * part keeps the message and the code. Bad arguments that Workers refuses before calling R2 (a
 * negative range offset, two checksums) are R2InputErrors, with the JavaScript error type
 * Workers throws for them.
 */
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const R2_LIMITS = {
  /** An object key, UTF-8 bytes. */
  MAX_KEY_BYTES: 1024,
  /** Custom metadata: keys and values, UTF-8 bytes together. */
  MAX_METADATA_BYTES: 8192,
  /** One put() or one uploaded part: 5 MiB less than 5 GiB. */
  MAX_UPLOAD_BYTES: 5 * GiB - 5 * MiB,
  /** A multipart object: 5 GiB less than 5 TiB. */
  MAX_OBJECT_BYTES: 5 * 1024 * GiB - 5 * GiB,
  /** Every part but the last of a multipart upload. */
  MIN_PART_BYTES: 5 * MiB,
  MAX_PARTS: 10_000,
  /** Keys one list() returns, and its default. */
  MAX_LIST_KEYS: 1000,
  /** Keys one delete() takes. */
  MAX_DELETE_KEYS: 1000,
  /** Incomplete multipart uploads are aborted after this long (R2's default lifecycle rule). */
  UPLOAD_EXPIRY_MS: 7 * 24 * 3600 * 1000,
} as const;

export const STORAGE_CLASSES = ['Standard', 'InfrequentAccess'] as const;

/** A failure R2 itself reports: what the worker sees after the operation's name. */
export class R2Error extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly v4Code: number,
  ) {
    super(message);
    this.name = 'R2Error';
  }

  /** The text a worker's Error carries: `get: The requested range is not satisfiable (10039)`. */
  forOperation(op: string): string {
    return `${op}: ${this.message} (${this.v4Code})`;
  }
}

/** Bad arguments Workers refuses itself, before R2 sees them (with its error type). */
export class R2InputError extends Error {
  constructor(
    message: string,
    readonly kind: 'TypeError' | 'RangeError' | 'Error' = 'TypeError',
  ) {
    super(message);
    this.name = 'R2InputError';
  }
}

/** `detail` names what was wrong where R2's own text does not; it goes in brackets. */
const withDetail = (text: string, detail?: string) => (detail ? `${text} (${detail})` : text);

export const r2Errors = {
  internal: (detail?: string) =>
    new R2Error(500, withDetail('We encountered an internal error. Please try again.', detail), 10001),
  entityTooLarge: (detail?: string) =>
    new R2Error(
      400,
      withDetail('Your proposed upload exceeds the maximum allowed object size.', detail),
      100100,
    ),
  entityTooSmall: (detail?: string) =>
    new R2Error(
      400,
      withDetail('Your proposed upload is smaller than the minimum allowed object size.', detail),
      10011,
    ),
  metadataTooLarge: () =>
    new R2Error(400, 'Your metadata headers exceed the maximum allowed metadata size.', 10012),
  invalidObjectName: (detail?: string) =>
    new R2Error(400, withDetail('The specified object name is not valid.', detail), 10020),
  invalidMaxKeys: () => new R2Error(400, 'MaxKeys params must be positive integer <= 1000.', 10022),
  noSuchUpload: () => new R2Error(404, 'The specified multipart upload does not exist.', 10024),
  invalidPart: (detail?: string) =>
    new R2Error(400, withDetail('One or more of the specified parts could not be found.', detail), 10025),
  invalidArgument: (detail: string) => new R2Error(400, withDetail('Invalid Argument', detail), 10029),
  preconditionFailed: () =>
    new R2Error(412, 'At least one of the pre-conditions you specified did not hold.', 10031),
  badDigest: (algorithm: string, provided: string, actual: string) =>
    new R2Error(
      400,
      [
        `The ${algorithm} checksum you specified did not match what we received.`,
        `You provided a ${algorithm} checksum with value: ${provided}`,
        `Actual ${algorithm} was: ${actual}`,
      ].join('\n'),
      10037,
    ),
  invalidRange: () => new R2Error(416, 'The requested range is not satisfiable', 10039),
  badUpload: (detail?: string) =>
    new R2Error(500, withDetail('There was a problem with the multipart upload.', detail), 10048),
};
