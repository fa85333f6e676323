/**
 * Errors with a stable `code`, so callers (the CLI, the web server, tests) match on the code
 * and not on message text. Each says what failed and, where it can, what to do.
 */
export type ErrorCode =
  | 'VXI_USAGE'
  | 'VXI_CAPTURE_FORMAT'
  | 'VXI_IO'
  | 'VXI_INVENTORY'
  /** SSH: the connection failed or was lost (a protocol error, the server closed it). */
  | 'VXI_SSH'
  /** SSH: the server refused every credential offered. */
  | 'VXI_SSH_AUTH'
  /** SSH: no session within the connect timeout (host down, port filtered, not an SSH server). */
  | 'VXI_SSH_TIMEOUT'
  /** SSH: the TCP connection was refused (nothing listens on the port). */
  | 'VXI_SSH_REFUSED'
  /** SSH: the host cannot be reached or resolved from here (route, firewall, name). */
  | 'VXI_SSH_UNREACHABLE'
  | 'VXI_HOSTKEY'
  | 'VXI_REMOTE_COMMAND'
  | 'VXI_CAPTURE'
  | 'VXI_LAB'
  | 'VXI_PREREQ'
  | 'VXI_WEB'
  // HTTP answers of the web view (src/web/errors.ts maps each to its status)
  | 'VXI_WEB_BAD_REQUEST'
  | 'VXI_WEB_TOKEN'
  | 'VXI_WEB_FORBIDDEN'
  | 'VXI_WEB_HOST'
  | 'VXI_WEB_NOT_FOUND'
  | 'VXI_WEB_TOO_LARGE'
  | 'VXI_WEB_UNAVAILABLE'
  | 'VXI_WEB_INTERNAL';

export class VxiError extends Error {
  readonly code: ErrorCode;
  /** Process exit code the CLI uses for this error (1 failure, 2 usage/prerequisite). */
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A user's mistake on the command line or in a request: exit 2. */
export class UsageError extends VxiError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VXI_USAGE', message, { ...options, exitCode: 2 });
  }
}

/** Damaged capture input; `offset` is the byte offset in the file/stream where the fault is. */
export class CaptureFormatError extends VxiError {
  readonly offset: number;
  constructor(message: string, offset: number, options: { cause?: unknown } = {}) {
    super('VXI_CAPTURE_FORMAT', `${message} (at byte offset ${offset})`, options);
    this.offset = offset;
  }
}

/** A tool the command needs is missing (ip, sshd, tcpdump) or we are not root: exit 2. */
export class PrerequisiteError extends VxiError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VXI_PREREQ', message, { ...options, exitCode: 2 });
  }
}

/** Every SSH failure, whatever its kind (match one kind by its own code). */
export function isSshError(err: unknown): err is VxiError {
  return err instanceof VxiError && (err.code === 'VXI_SSH' || err.code.startsWith('VXI_SSH_') || err.code === 'VXI_HOSTKEY');
}

export function isVxiError(err: unknown): err is VxiError {
  return err instanceof VxiError;
}
