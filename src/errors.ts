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

/**
 * What is wrong with a damaged capture, one name per check the readers (src/decode/file) make:
 * callers branch on it, never on the message.
 */
export type CaptureFormatKind =
  /** No bytes at all. */
  | 'empty-input'
  /** The first four bytes are not a pcap or pcapng magic (gzip, Kuznetzov pcap, anything else). */
  | 'bad-magic'
  /** The input ends inside the file header (fewer than 4 bytes, or inside the 24-byte pcap header). */
  | 'truncated-header'
  /** The input ends inside a pcap record or a pcapng block: `tailBytes` of it arrived, `missingBytes` did not. */
  | 'truncated-record'
  /** A captured length above MAX_CAPLEN (pcap record, pcapng packet block). */
  | 'caplen-too-large'
  /** A pcapng block total length below 12 or not a multiple of 4. */
  | 'bad-block-length'
  /** A pcapng block we parse claims more than MAX_BLOCK bytes. */
  | 'block-too-large'
  /** A pcapng block shorter than the minimum of its type (SHB 28, IDB 20, EPB/OPB 32, SPB 16). */
  | 'block-too-short'
  /** A pcapng block's trailing total length disagrees with its leading one. */
  | 'trailing-length-mismatch'
  /** A pcapng section header whose byte-order magic is neither 0x1a2b3c4d nor its swap. */
  | 'bad-byte-order-magic'
  /** A pcapng section header of a major version other than 1. */
  | 'unsupported-version'
  /** More interface description blocks than MAX_INTERFACES. */
  | 'too-many-interfaces'
  /** An if_tsresol the readers cannot represent. */
  | 'bad-timestamp-resolution'
  /** A packet block names an interface its section did not declare. */
  | 'unknown-interface'
  /** A pcapng packet block's captured length runs past the end of the block. */
  | 'caplen-past-block';

/** Facts about the fault beyond its kind, for callers that act on them. */
export interface CaptureFormatFields {
  /** 'truncated-header' / 'truncated-record': bytes of the unit that arrived before the input ended. */
  tailBytes?: number;
  /** 'truncated-header' / 'truncated-record': bytes of the unit that never arrived. */
  missingBytes?: number;
  /** pcapng: the type of the block at fault. */
  blockType?: number;
}

/**
 * Damaged capture input; `offset` is the byte offset in the file/stream where the fault is,
 * `kind` what the fault is. `detail` is the message without the offset.
 */
export class CaptureFormatError extends VxiError {
  readonly offset: number;
  readonly kind: CaptureFormatKind;
  readonly detail: string;
  readonly tailBytes: number | undefined;
  readonly missingBytes: number | undefined;
  readonly blockType: number | undefined;
  constructor(
    kind: CaptureFormatKind,
    message: string,
    offset: number,
    fields: CaptureFormatFields = {},
    options: { cause?: unknown } = {},
  ) {
    super('VXI_CAPTURE_FORMAT', `${message} (at byte offset ${offset})`, options);
    this.offset = offset;
    this.kind = kind;
    this.detail = message;
    this.tailBytes = fields.tailBytes;
    this.missingBytes = fields.missingBytes;
    this.blockType = fields.blockType;
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
