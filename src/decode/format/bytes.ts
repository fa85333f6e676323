/**
 * ByteWriter: output lines made straight into bytes. `decode` prints a million lines; made as
 * JS strings they cost a rope of small strings each, a flattening, and a UTF-8 encoding —
 * about as much garbage as decoding. Numbers and addresses are written digit by digit here,
 * fixed text byte by byte, and only free text (messages, interface names) goes through UTF-8.
 */

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();
const HEX_DIGITS = '0123456789abcdef';

export class ByteWriter {
  private buf: Uint8Array;
  pos = 0;

  /** `buffer`: memory to write into first (e.g. one handed back for reuse). */
  constructor(private readonly initialSize = 64 * 1024, buffer?: Uint8Array) {
    this.buf = buffer ?? (initialSize > 0 ? bytes(initialSize) : EMPTY);
  }

  /** Makes room for `n` more bytes (the hot writers check inline and call grow() only when full). */
  private room(n: number): Uint8Array {
    return this.pos + n > this.buf.length ? this.grow(n) : this.buf;
  }

  private grow(n: number): Uint8Array {
    let size = Math.max(this.initialSize, this.buf.length * 2, 256);
    while (size < this.pos + n) size *= 2;
    const bigger = bytes(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    return bigger;
  }

  byte(c: number): void {
    let b = this.buf;
    if (this.pos >= b.length) b = this.grow(1);
    b[this.pos++] = c;
  }

  /** Text known to be ASCII (field names, fixed words): copied as bytes. */
  ascii(s: string): void {
    const n = s.length;
    let b = this.buf;
    let p = this.pos;
    if (p + n > b.length) b = this.grow(n);
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** `ascii(key)` then `num(n)`: a JSON field name and its number, in one call. */
  field(key: string, n: number): void {
    const k = key.length;
    let b = this.buf;
    let p = this.pos;
    if (p + k + 10 > b.length) b = this.grow(k + 10);
    for (let i = 0; i < k; i++) b[p++] = key.charCodeAt(i);
    this.pos = p;
    this.num(n);
  }

  /** Any text, UTF-8 encoded. */
  text(s: string): void {
    const b = this.room(s.length * 3);
    this.pos += utf8Encoder.encodeInto(s, b.subarray(this.pos)).written;
  }

  /** A number exactly as `${n}` writes it (digit by digit for the usual non-negative integers). */
  num(n: number): void {
    if (n >= 0 && n <= 0xffffffff && Number.isInteger(n)) this.digits(n, 1);
    else this.ascii(String(n));
  }

  /** `${x}` of an optional number: "undefined" when it is absent, as a template literal would write. */
  opt(n: number | undefined): void {
    if (n === undefined) this.ascii('undefined');
    else this.num(n);
  }

  /** An integer 0..2^32-1 with at least `width` digits (zero-padded on the left). */
  digits(n: number, width: number): void {
    let len = n < 100000 ? (n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : n < 10000 ? 4 : 5) : n < 1e7 ? (n < 1e6 ? 6 : 7) : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
    if (len < width) len = width;
    const b = this.room(len);
    let p = this.pos + len;
    this.pos = p;
    if (n <= 0x7fffffff) {
      // small-integer arithmetic: no floating-point division
      for (let i = 0, x = n | 0; i < len; i++) {
        const q = (x / 10) | 0;
        b[--p] = 48 + x - q * 10;
        x = q;
      }
    } else {
      for (let i = 0, x = n; i < len; i++) {
        const q = Math.floor(x / 10);
        b[--p] = 48 + x - q * 10;
        x = q;
      }
    }
  }

  /** `n.toString(16).padStart(width, '0')`. */
  hex(n: number, width: number): void {
    this.ascii(n.toString(16).padStart(width, '0'));
  }

  /** 48-bit number → "aa:bb:cc:dd:ee:ff". */
  mac(mac: number): void {
    const b = this.room(17);
    const hi = Math.floor(mac / 0x100000000);
    const lo = mac >>> 0;
    let p = hex2(b, this.pos, (hi >>> 8) & 0xff);
    b[p++] = 58; // ':'
    p = hex2(b, p, hi & 0xff);
    b[p++] = 58;
    p = hex2(b, p, lo >>> 24);
    b[p++] = 58;
    p = hex2(b, p, (lo >>> 16) & 0xff);
    b[p++] = 58;
    p = hex2(b, p, (lo >>> 8) & 0xff);
    b[p++] = 58;
    this.pos = hex2(b, p, lo & 0xff);
  }

  /** 32-bit unsigned number → dotted quad. */
  ipv4(ip: number): void {
    this.digits(ip >>> 24, 1);
    this.byte(46);
    this.digits((ip >>> 16) & 0xff, 1);
    this.byte(46);
    this.digits((ip >>> 8) & 0xff, 1);
    this.byte(46);
    this.digits(ip & 0xff, 1);
  }

  /** The bytes written since `from`, as text. */
  textFrom(from: number): string {
    return utf8.decode(this.buf.subarray(from, this.pos));
  }

  /** The bytes so far; the writer goes on in a new buffer. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = EMPTY; // the next write allocates
    this.pos = 0;
    return out;
  }

  /** Forgets what was written (keeps the memory): for making one string at a time. */
  reset(): void {
    this.pos = 0;
  }
}

/** Uninitialised memory as a plain Uint8Array (one element type for every buffer: monomorphic writes). */
function bytes(size: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

function hex2(b: Uint8Array, p: number, v: number): number {
  b[p] = HEX_DIGITS.charCodeAt(v >>> 4);
  b[p + 1] = HEX_DIGITS.charCodeAt(v & 15);
  return p + 2;
}
