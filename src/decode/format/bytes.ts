/**
 * ByteWriter: output lines made straight into bytes. `decode` prints a million lines; made as
 * JS strings they cost a rope of small strings each, a flattening, and a UTF-8 encoding —
 * about as much garbage as decoding. Numbers and addresses are written digit by digit here,
 * fixed text byte by byte, and only free text (messages, interface names) goes through UTF-8.
 *
 * What the profile of `decode --json` showed (1M realistic packets, one thread): copying fixed
 * text one character at a time (`"srcPort":`, `,"offset":` …) was a third of the run; a JSON
 * line is 800 bytes of which two thirds are field names. Fixed text is therefore encoded once
 * (`lit`) into 32-bit words and written four bytes per store; numbers two digits per store
 * from a table; IPv4 octets and MAC bytes one store each (their text and separator packed in
 * a word). A store may write up to three bytes past the text: `room` reserves them and the
 * next write overwrites them, so they never reach the output (take/textFrom end at `pos`).
 */
const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();
const HEX_DIGITS = '0123456789abcdef';

/** Fixed ASCII text, encoded once: its bytes as little-endian 32-bit words (the last one padded). */
export interface Lit {
  readonly length: number;
  readonly words: Int32Array;
}

/** Encodes fixed ASCII text for ByteWriter.lit (at module load: never per packet). */
export function lit(s: string): Lit {
  const words = new Int32Array(Math.ceil(s.length / 4));
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw new Error(`lit() takes ASCII text only: ${JSON.stringify(s)}`);
    words[i >> 2] = (words[i >> 2] as number) | (c << (8 * (i & 3)));
  }
  return { length: s.length, words };
}

/** The bytes of `s` (up to 4) packed little-endian into one word. */
function pack(s: string): number {
  let w = 0;
  for (let i = 0; i < s.length && i < 4; i++) w |= s.charCodeAt(i) << (8 * i);
  return w;
}

/** "00" … "99", two ASCII digits per entry, packed for one 16-bit store. */
const PAIRS = Uint16Array.from({ length: 100 }, (_, i) => pack(String(i).padStart(2, '0')));
/** An IPv4 octet and a dot ("7.", "10.", "255."), packed; OCTET_LEN: its digits plus the dot. */
const OCTET_DOT = Int32Array.from({ length: 256 }, (_, i) => pack(`${i}.`));
const OCTET_LEN = Uint8Array.from({ length: 256 }, (_, i) => String(i).length + 1);
/** A byte as two hex digits and a colon ("0a:"), packed. */
const HEX_COLON = Int32Array.from({ length: 256 }, (_, i) => pack(`${i.toString(16).padStart(2, '0')}:`));
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  /** `buffer`: memory to write into first (e.g. one handed back for reuse). */
  constructor(
    private readonly initialSize = 64 * 1024,
    buffer?: Uint8Array,
  ) {
    this.buf = buffer ?? (initialSize > 0 ? bytes(initialSize) : EMPTY);
    this.view = viewOf(this.buf);
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
    this.view = viewOf(bigger);
    return bigger;
  }

  byte(c: number): void {
    let b = this.buf;
    if (this.pos >= b.length) b = this.grow(1);
    b[this.pos++] = c;
  }

  /** Text known to be ASCII (words chosen at run time): copied byte by byte. Fixed text: lit(). */
  ascii(s: string): void {
    const n = s.length;
    let b = this.buf;
    let p = this.pos;
    if (p + n > b.length) b = this.grow(n);
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Fixed text encoded by lit(): four bytes per store. */
  lit(t: Lit): void {
    const words = t.words;
    const n = words.length;
    if (this.pos + 4 * n > this.buf.length) this.grow(4 * n);
    const v = this.view;
    let p = this.pos;
    for (let i = 0; i < n; i++, p += 4) v.setInt32(p, words[i] as number, true);
    this.pos += t.length;
  }

  /** `lit(key)` then `num(n)`: a JSON field name and its number, in one call. */
  field(key: Lit, n: number): void {
    const words = key.words;
    const count = words.length;
    // the key's words, and room for a two-digit number after it
    if (this.pos + 4 * count + 2 > this.buf.length) this.grow(4 * count + 2);
    const v = this.view;
    let p = this.pos;
    for (let i = 0; i < count; i++, p += 4) v.setInt32(p, words[i] as number, true);
    p = this.pos + key.length;
    if (n >= 0 && n < 100 && (n | 0) === n) {
      // most numbers in a line are small (offsets, lengths, flags): one or two bytes
      if (n < 10) this.buf[p++] = 48 + n;
      else {
        v.setUint16(p, PAIRS[n] as number, true);
        p += 2;
      }
      this.pos = p;
      return;
    }
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
    if (n >= 0 && n < 10 && (n | 0) === n) this.byte(48 + n);
    else if (n >= 0 && n <= 0xffffffff && Number.isInteger(n)) this.digits(n, 1);
    else this.ascii(String(n));
  }

  /** `${x}` of an optional number: "undefined" when it is absent, as a template literal would write. */
  opt(n: number | undefined): void {
    if (n === undefined) this.ascii('undefined');
    else this.num(n);
  }

  /** An integer 0..2^32-1 with at least `width` digits (zero-padded on the left). */
  digits(n: number, width: number): void {
    let len =
      n < 100000
        ? n < 100
          ? n < 10
            ? 1
            : 2
          : n < 1000
            ? 3
            : n < 10000
              ? 4
              : 5
        : n < 1e7
          ? n < 1e6
            ? 6
            : 7
          : n < 1e8
            ? 8
            : n < 1e9
              ? 9
              : 10;
    if (len < width) len = width;
    // two digits per store, from the right; one more byte of room for the 16-bit stores
    const b = this.room(len + 1);
    const v = this.view;
    const start = this.pos;
    let p = start + len;
    this.pos = p;
    let x = n;
    if (x > 0x7fffffff) {
      // beyond small integers: one floating-point division brings it below 2^31
      const q = Math.floor(x / 100);
      p -= 2;
      v.setUint16(p, PAIRS[x - q * 100] as number, true);
      x = q;
    }
    x |= 0;
    while (x >= 100) {
      const q = (x / 100) | 0;
      p -= 2;
      v.setUint16(p, PAIRS[x - q * 100] as number, true);
      x = q;
    }
    if (x >= 10) {
      p -= 2;
      v.setUint16(p, PAIRS[x] as number, true);
    } else b[--p] = 48 + x;
    while (p > start) b[--p] = 48;
  }

  /** `n.toString(16).padStart(width, '0')`. */
  hex(n: number, width: number): void {
    this.ascii(n.toString(16).padStart(width, '0'));
  }

  /** 48-bit number → "aa:bb:cc:dd:ee:ff". */
  mac(mac: number): void {
    if (this.pos + 20 > this.buf.length) this.grow(20);
    const v = this.view;
    const hi = Math.floor(mac / 0x100000000);
    const lo = mac >>> 0;
    let p = this.pos;
    v.setInt32(p, HEX_COLON[(hi >>> 8) & 0xff] as number, true);
    v.setInt32((p += 3), HEX_COLON[hi & 0xff] as number, true);
    v.setInt32((p += 3), HEX_COLON[lo >>> 24] as number, true);
    v.setInt32((p += 3), HEX_COLON[(lo >>> 16) & 0xff] as number, true);
    v.setInt32((p += 3), HEX_COLON[(lo >>> 8) & 0xff] as number, true);
    v.setInt32((p += 3), HEX_COLON[lo & 0xff] as number, true);
    this.pos = p + 2;
  }

  /** 32-bit unsigned number → dotted quad. */
  ipv4(ip: number): void {
    if (this.pos + 16 > this.buf.length) this.grow(16);
    const v = this.view;
    let p = this.pos;
    let o = ip >>> 24;
    v.setInt32(p, OCTET_DOT[o] as number, true);
    p += OCTET_LEN[o] as number;
    o = (ip >>> 16) & 0xff;
    v.setInt32(p, OCTET_DOT[o] as number, true);
    p += OCTET_LEN[o] as number;
    o = (ip >>> 8) & 0xff;
    v.setInt32(p, OCTET_DOT[o] as number, true);
    p += OCTET_LEN[o] as number;
    o = ip & 0xff;
    v.setInt32(p, OCTET_DOT[o] as number, true);
    this.pos = p + (OCTET_LEN[o] as number) - 1; // without the last dot
  }

  /** Four address bytes as a dotted quad (ARP, IPv4-mapped IPv6). */
  quad(b: Uint8Array, at: number): void {
    this.ipv4((((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0);
  }

  /**
   * 16 bytes → RFC 5952 text, exactly as formatIPv6 (addr.ts) makes it: lower case, the longest
   * run (≥ 2) of zero groups as "::", the first on ties, `::ffff:a.b.c.d` for IPv4-mapped.
   * Other lengths: colon-separated hex bytes.
   */
  ipv6(a: Uint8Array): void {
    if (a.length !== 16) {
      this.hexBytes(a);
      return;
    }
    const g = GROUPS;
    for (let i = 0; i < 8; i++) g[i] = ((a[2 * i] as number) << 8) | (a[2 * i + 1] as number);
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
      this.lit(V4_MAPPED);
      this.quad(a, 12);
      return;
    }
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      if (g[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    const b = this.room(40);
    let p = this.pos;
    for (let i = 0; i < 8; i++) {
      if (i === bestStart) {
        b[p++] = 58;
        b[p++] = 58;
        i += bestLen - 1;
        continue;
      }
      if (i > 0 && i !== bestStart + bestLen) b[p++] = 58;
      const x = g[i] as number;
      if (x >= 0x1000) b[p++] = HEX_CODES[x >>> 12] as number;
      if (x >= 0x100) b[p++] = HEX_CODES[(x >>> 8) & 15] as number;
      if (x >= 0x10) b[p++] = HEX_CODES[(x >>> 4) & 15] as number;
      b[p++] = HEX_CODES[x & 15] as number;
    }
    this.pos = p;
  }

  /** Bytes as colon-separated hex pairs (formatHexBytes). */
  hexBytes(a: Uint8Array): void {
    const b = this.room(3 * a.length);
    let p = this.pos;
    for (let i = 0; i < a.length; i++) {
      if (i) b[p++] = 58;
      const x = a[i] as number;
      b[p++] = HEX_CODES[x >>> 4] as number;
      b[p++] = HEX_CODES[x & 15] as number;
    }
    this.pos = p;
  }

  /** An ARP/SLL address as formatAddressBytes makes it: IPv4 (4 bytes), IPv6 (16), hex otherwise. */
  address(a: Uint8Array): void {
    if (a.length === 4) this.quad(a, 0);
    else if (a.length === 16) this.ipv6(a);
    else this.hexBytes(a);
  }

  /** The bytes written since `from`, as text. */
  textFrom(from: number): string {
    return utf8.decode(this.buf.subarray(from, this.pos));
  }

  /** The bytes so far; the writer goes on in a new buffer. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = EMPTY; // the next write allocates
    this.view = EMPTY_VIEW;
    this.pos = 0;
    return out;
  }

  /** Forgets what was written (keeps the memory): for making one string at a time. */
  reset(): void {
    this.pos = 0;
  }
}

const lineScratch = new ByteWriter(4096);

/**
 * What `write` writes for `x`, as a string: the one-line-at-a-time form of the byte writers (the
 * web view, tests), through one shared writer. `write` must not call textOf itself.
 */
export function textOf<T>(write: (w: ByteWriter, x: T) => void, x: T): string {
  lineScratch.reset();
  write(lineScratch, x);
  return lineScratch.textFrom(0);
}

const GROUPS = new Int32Array(8);
const V4_MAPPED = lit('::ffff:');
const HEX_CODES = Uint8Array.from(HEX_DIGITS, (c) => c.charCodeAt(0));

/** Uninitialised memory as a plain Uint8Array (one element type for every buffer: monomorphic writes). */
function bytes(size: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** 10 ** n for n in 0..9 (time.ts: sub-second digits). */
export function pow10(n: number): number {
  return POW10[n] as number;
}
