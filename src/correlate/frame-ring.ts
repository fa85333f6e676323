/**
 * The frames the correlator holds (queued for the merge, then in the window), as numbers in
 * typed arrays: one ring per side, in arrival order, addressed by a growing id (slot id & mask).
 * A frame costs no object: its fields are array elements, and its bytes are copied into the
 * ring's arena (one byte buffer, used as a ring in the frames' order). An object per frame, with
 * its boxed doubles (time, key, MACs), survived the young generation for one or two windows and
 * made garbage collection most of the correlator's time. Views into the reader's 1 MiB chunks
 * kept each chunk alive as long as one of its frames was held: the chunks outlived the young
 * generation, and the dead ones piled up outside the heap until a full collection (over 100 MB
 * on the realistic pair); copied, a chunk dies young and the arena holds only the frames.
 *
 * The ring is FIFO like the window: [head, mid) is in the window (processed), [mid, tail) is
 * queued. Capacity doubles as needed; the correlator's count caps bound it (MAX_IN_FLIGHT).
 */
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import { PacketFacts, TRANSPORT_TCP, TRANSPORT_UDP, TUNNEL_NONE, TUNNEL_VXLAN } from '../stats/facts.js';
import { BufferView, readFacts } from '../stats/fast-decode.js';
import { fingerprintAt, frameKeyAt } from './bytes.js';
import {
  LINKTYPE_ETHERNET,
  ipv4Text,
  isGroupMac,
  overlayFrame,
  pairOf,
  underlayFrame,
  type CompareFrom,
  type OverlayFrame,
  type UnderlayFrame,
} from './frame.js';
import { formatIPv6 } from '../decode/format/addr.js';

/** A packet as the one pass hands it: its record, and its layers decoded only when asked for. */
export interface CapturedPacket {
  readonly raw: RawPacket;
  /** 1-based number of the packet among its side's packets. */
  readonly n: number;
  /** The full decode (made on first use). */
  readonly p: DecodedPacket;
  /** The UDP port table of the registry the packet is decoded with (see udpPortTable in src/stats/fast-decode.ts). */
  readonly udpPorts: Uint8Array;
}

const ETHERNET_HEADER = 14;
const EMPTY = new Uint8Array(0);
/** The arena's first size (bytes), at most: 1 KiB per frame slot; it doubles as the window needs. */
const ARENA_START = 1 << 20;

export class FrameRing {
  /** Oldest frame held; first queued frame; next id. */
  head = 0;
  mid = 0;
  tail = 0;
  mask: number;
  /** The arena the frame's bytes are in (the ring's arena when the frame was written; see store). */
  buf: Uint8Array[];
  /** Where the frame's copy starts in the arena's positions (bytes stored before it, padding included). */
  pos: Float64Array;
  /** The compared bytes: buf[off, off + len). */
  off: Int32Array;
  len: Int32Array;
  /** The whole captured frame (what reasons look at): buf[frameOff, frameOff + frameCap). */
  frameOff: Int32Array;
  frameCap: Int32Array;
  n: Float64Array;
  ts: Float64Array;
  key: Float64Array;
  /** fingerprintAt of the compared bytes: frames of one key, length and checksum offset with different fingerprints differ. */
  fp: Int32Array;
  wireLen: Int32Array;
  frameLen: Int32Array;
  checksumAt: Int32Array;
  dstMac: Float64Array;
  srcMac: Float64Array;
  groupDst: Uint8Array;
  // underlay only
  vni: Int32Array;
  outerLen: Float64Array;
  outerFragment: Uint8Array;
  pair: string[];
  vtepSrc: string[];
  vtepDst: string[];
  // the correlator's state of each frame
  cls: (object | undefined)[];
  claimHead: Int32Array;
  claimTail: Int32Array;
  claimCount: Int32Array;

  /** The arena: frame bytes in the frames' order, a frame never wrapping around its end; `stored` bytes were reserved so far. */
  private bytes: Uint8Array;
  private stored = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(Math.min(ARENA_START, capacity * 1024));
    this.mask = capacity - 1;
    this.buf = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.pos = new Float64Array(capacity);
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.frameOff = new Int32Array(capacity);
    this.frameCap = new Int32Array(capacity);
    this.n = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.key = new Float64Array(capacity);
    this.fp = new Int32Array(capacity);
    this.wireLen = new Int32Array(capacity);
    this.frameLen = new Int32Array(capacity);
    this.checksumAt = new Int32Array(capacity);
    this.dstMac = new Float64Array(capacity);
    this.srcMac = new Float64Array(capacity);
    this.groupDst = new Uint8Array(capacity);
    this.vni = new Int32Array(capacity);
    this.outerLen = new Float64Array(capacity);
    this.outerFragment = new Uint8Array(capacity);
    this.pair = new Array<string>(capacity).fill('');
    this.vtepSrc = new Array<string>(capacity).fill('');
    this.vtepDst = new Array<string>(capacity).fill('');
    this.cls = new Array<object | undefined>(capacity).fill(undefined);
    this.claimHead = new Int32Array(capacity);
    this.claimTail = new Int32Array(capacity);
    this.claimCount = new Int32Array(capacity);
  }

  /** Frames in the window (processed). */
  get held(): number {
    return this.mid - this.head;
  }

  /** Frames queued for the merge. */
  get queued(): number {
    return this.tail - this.mid;
  }

  /** A new slot at the tail (its fields are to be written); its id. */
  alloc(): number {
    if (this.tail - this.head > this.mask) this.grow();
    return this.tail++;
  }

  /** The oldest frame leaves: lets go of its buffer and state. */
  release(id: number): void {
    const i = id & this.mask;
    this.buf[i] = EMPTY;
    this.cls[i] = undefined;
  }

  /**
   * Copies src[from, from + n) into the arena for frame `id`, the newest (just allocated), and
   * sets its `buf` and `pos`; returns the copy's offset in buf. The arena doubles when the frames
   * held and this one do not fit: it holds the window's frame bytes, whatever the capture length.
   */
  store(id: number, src: Uint8Array, from: number, n: number): number {
    for (;;) {
      const cap = this.bytes.length;
      let p = this.stored;
      const o = p % cap;
      if (o + n > cap) p += cap - o; // a frame does not wrap: it starts at the arena's start
      const oldest = this.head < id ? (this.pos[this.head & this.mask] as number) : p;
      if (p + n - oldest <= cap) {
        const at = p % cap;
        if (n <= 64) for (let k = 0; k < n; k++) this.bytes[at + k] = src[from + k] as number;
        else this.bytes.set(src.subarray(from, from + n), at);
        this.stored = p + n;
        const i = id & this.mask;
        this.buf[i] = this.bytes;
        this.pos[i] = p;
        return at;
      }
      this.growArena(id);
    }
  }

  /** The arena doubles; the frames held before `id` move to their positions in it. */
  private growArena(id: number): void {
    const old = this.bytes;
    const cap = old.length * 2;
    const bytes = new Uint8Array(cap);
    for (let k = this.head; k < id; k++) {
      const i = k & this.mask;
      const from = this.frameOff[i] as number;
      const at = (this.pos[i] as number) % cap;
      const n = this.frameCap[i] as number;
      if (n > 0) bytes.set(old.subarray(from, from + n), at);
      this.off[i] = (this.off[i] as number) - from + at;
      this.frameOff[i] = at;
      this.buf[i] = bytes;
    }
    this.bytes = bytes;
  }

  /** The compared bytes of frame `id` (a new view: for the rare paths only). */
  frameBytes(id: number): Uint8Array {
    const i = id & this.mask;
    const at = this.frameOff[i] as number;
    return (this.buf[i] as Uint8Array).subarray(at, at + (this.frameCap[i] as number));
  }

  private grow(): void {
    const old = this.mask + 1;
    const cap = old * 2;
    const mask = cap - 1;
    const move = <T extends { length: number; [i: number]: unknown }>(a: T, fresh: T): T => {
      for (let id = this.head; id < this.tail; id++) fresh[id & mask] = a[id & this.mask];
      return fresh;
    };
    this.buf = move(this.buf, new Array<Uint8Array>(cap).fill(EMPTY));
    this.pos = move(this.pos, new Float64Array(cap));
    this.off = move(this.off, new Int32Array(cap));
    this.len = move(this.len, new Int32Array(cap));
    this.frameOff = move(this.frameOff, new Int32Array(cap));
    this.frameCap = move(this.frameCap, new Int32Array(cap));
    this.n = move(this.n, new Float64Array(cap));
    this.ts = move(this.ts, new Float64Array(cap));
    this.key = move(this.key, new Float64Array(cap));
    this.fp = move(this.fp, new Int32Array(cap));
    this.wireLen = move(this.wireLen, new Int32Array(cap));
    this.frameLen = move(this.frameLen, new Int32Array(cap));
    this.checksumAt = move(this.checksumAt, new Int32Array(cap));
    this.dstMac = move(this.dstMac, new Float64Array(cap));
    this.srcMac = move(this.srcMac, new Float64Array(cap));
    this.groupDst = move(this.groupDst, new Uint8Array(cap));
    this.vni = move(this.vni, new Int32Array(cap));
    this.outerLen = move(this.outerLen, new Float64Array(cap));
    this.outerFragment = move(this.outerFragment, new Uint8Array(cap));
    this.pair = move(this.pair, new Array<string>(cap).fill(''));
    this.vtepSrc = move(this.vtepSrc, new Array<string>(cap).fill(''));
    this.vtepDst = move(this.vtepDst, new Array<string>(cap).fill(''));
    this.cls = move(this.cls, new Array<object | undefined>(cap).fill(undefined));
    this.claimHead = move(this.claimHead, new Int32Array(cap));
    this.claimTail = move(this.claimTail, new Int32Array(cap));
    this.claimCount = move(this.claimCount, new Int32Array(cap));
    this.mask = mask;
  }
}

/**
 * Offset of the TCP/UDP header of the level that starts with an Ethernet header at `eth`, in a
 * frame readFacts accepted (so every header below is whole and no IP fragment is on the way):
 * the VLAN tags and the IP header it read are stepped over again, nothing else is read.
 */
function transportAt(b: Uint8Array, base: number, eth: number, ipVersion: number): number {
  let off = eth + 12;
  let et = ((b[base + off] as number) << 8) | (b[base + off + 1] as number);
  off += 2;
  // the TPIDs readFacts follows (src/stats/fast-decode.ts)
  while (et === 0x8100 || et === 0x88a8 || et === 0x9100 || et === 0x9200) {
    et = ((b[base + off + 2] as number) << 8) | (b[base + off + 3] as number);
    off += 4;
  }
  return ipVersion === 4 ? off + ((b[base + off] as number) & 0x0f) * 4 : off + 40;
}

/** Offset of the transport checksum from `start`, or -1: where compareFrames and the hash skip it. */
function checksumFrom(f: PacketFacts, b: Uint8Array, base: number, eth: number, start: number): number {
  if (f.transport === TRANSPORT_TCP) return transportAt(b, base, eth, f.ipVersion) + 16 - start;
  if (f.transport === TRANSPORT_UDP) return transportAt(b, base, eth, f.ipVersion) + 6 - start;
  return -1;
}

/**
 * Writes frames into a ring: from the record's bytes through the stats fast decoder when it
 * knows the packet's shape (nearly all traffic), else from the full decode (underlayFrame,
 * overlayFrame in frame.ts, which define what a frame is; frame-ring.test.ts checks both agree).
 */
export class FrameWriter {
  private readonly facts = new PacketFacts();
  private readonly view = new BufferView();
  /** Frames written from the bytes, and from the full decode. */
  fast = 0;
  full = 0;

  constructor(private readonly from: CompareFrom) {}

  /** The inner frame of an underlay packet into `r`; false when it is not VXLAN (nothing written). */
  underlay(r: FrameRing, x: CapturedPacket): boolean {
    const raw = x.raw;
    const data = raw.data;
    const b = this.view.of(data);
    const f = this.facts;
    if (readFacts(raw, b, x.udpPorts, f)) {
      if (f.tunnel !== TUNNEL_VXLAN) {
        if (f.tunnel === TUNNEL_NONE) return false;
      } else if (this.underlayFast(r, x, b, f)) return true;
    }
    this.full += 1;
    return this.underlayFromDecode(r, x.p);
  }

  /** The inner frame of a decoded underlay packet into `r` (underlayFrame); false when it is not VXLAN. */
  underlayFromDecode(r: FrameRing, p: DecodedPacket): boolean {
    const u = underlayFrame(p, this.from);
    if (!u) return false;
    this.writeUnderlay(r, u);
    return true;
  }

  private underlayFast(r: FrameRing, x: CapturedPacket, b: Uint8Array, f: PacketFacts): boolean {
    const raw = x.raw;
    const data = raw.data;
    const base = data.byteOffset;
    const start = f.overhead - f.linkAdjust; // the inner Ethernet header
    const udpAt = start - 16;
    const udpLength = ((b[base + udpAt + 4] as number) << 8) | (b[base + udpAt + 5] as number);
    // UDP length 0 (a jumbogram's): the end is the outer IP header's; left to the full decode
    if (udpLength < 8) return false;
    // readFacts checked the UDP datagram ends within the outer IP packet: it gives the end
    const wireEnd = udpAt + udpLength;
    const end = Math.min(data.length, wireEnd);
    const frameStart = Math.min(start, end);
    const frameCap = end - frameStart;
    const frameLen = Math.max(frameCap, wireEnd - start);
    const skip = this.from === 'network' ? Math.min(ETHERNET_HEADER, frameCap) : 0;
    const len = frameCap - skip;
    const wireLen = Math.max(len, frameLen - skip);
    const at = checksumFrom(f, b, base, start, start);
    const checksumAt = at >= skip ? at - skip : -1;
    let vtepSrc: string;
    let vtepDst: string;
    if (f.outerVersion === 4) {
      vtepSrc = ipv4Text(f.outerSrc);
      vtepDst = ipv4Text(f.outerDst);
    } else if (f.outerSrc6 !== undefined && f.outerDst6 !== undefined) {
      vtepSrc = formatIPv6(f.outerSrc6);
      vtepDst = formatIPv6(f.outerDst6);
    } else return false;
    const id = r.alloc();
    const i = id & r.mask;
    const off = base + frameStart + skip;
    const copyAt = r.store(id, b, base + frameStart, frameCap);
    r.off[i] = copyAt + skip;
    r.len[i] = len;
    r.frameOff[i] = copyAt;
    r.frameCap[i] = frameCap;
    r.n[i] = x.n;
    r.ts[i] = raw.tsSec * 1e6 + raw.tsNsec / 1e3;
    r.key[i] = frameKeyAt(b, off, len, wireLen, checksumAt);
    r.fp[i] = fingerprintAt(b, off, len, checksumAt);
    r.wireLen[i] = wireLen;
    r.frameLen[i] = frameLen;
    r.checksumAt[i] = checksumAt;
    r.dstMac[i] = f.ethDst;
    r.srcMac[i] = f.ethSrc;
    r.groupDst[i] = isGroupMac(f.ethDst) ? 1 : 0;
    r.vni[i] = f.vni;
    r.outerLen[i] = Math.max(raw.len, data.length);
    r.outerFragment[i] = 0;
    r.pair[i] = pairOf(vtepSrc, vtepDst);
    r.vtepSrc[i] = vtepSrc;
    r.vtepDst[i] = vtepDst;
    this.fast += 1;
    return true;
  }

  private writeUnderlay(r: FrameRing, u: UnderlayFrame): void {
    const i = this.writeBase(r, u);
    r.vni[i] = u.vni;
    r.outerLen[i] = u.outerLen;
    r.outerFragment[i] = u.outerFragment ? 1 : 0;
    r.pair[i] = u.pair;
    r.vtepSrc[i] = u.vtepSrc;
    r.vtepDst[i] = u.vtepDst;
  }

  /** A bridge frame into `r` (with the clock offset added); false when it cannot be compared with inner frames (nothing written). */
  overlay(r: FrameRing, x: CapturedPacket, clockOffsetUs: number): boolean {
    const raw = x.raw;
    if (raw.linkType === LINKTYPE_ETHERNET) {
      const data = raw.data;
      const b = this.view.of(data);
      const f = this.facts;
      if (readFacts(raw, b, x.udpPorts, f) && f.tunnel === TUNNEL_NONE) {
        const base = data.byteOffset;
        const caplen = data.length;
        const skip = this.from === 'network' ? Math.min(ETHERNET_HEADER, caplen) : 0;
        const len = caplen - skip;
        const onWire = Math.max(raw.len, caplen);
        const at = checksumFrom(f, b, base, 0, 0);
        const checksumAt = at >= skip ? at - skip : -1;
        const wireLen = Math.max(len, onWire - skip);
        const id = r.alloc();
        const i = id & r.mask;
        const copyAt = r.store(id, b, base, caplen);
        r.off[i] = copyAt + skip;
        r.len[i] = len;
        r.frameOff[i] = copyAt;
        r.frameCap[i] = caplen;
        r.n[i] = x.n;
        r.ts[i] = raw.tsSec * 1e6 + raw.tsNsec / 1e3 + clockOffsetUs;
        r.key[i] = frameKeyAt(b, base + skip, len, wireLen, checksumAt);
        r.fp[i] = fingerprintAt(b, base + skip, len, checksumAt);
        r.wireLen[i] = wireLen;
        r.frameLen[i] = onWire;
        r.checksumAt[i] = checksumAt;
        r.dstMac[i] = f.ethDst;
        r.srcMac[i] = f.ethSrc;
        r.groupDst[i] = isGroupMac(f.ethDst) ? 1 : 0;
        this.fast += 1;
        return true;
      }
    }
    this.full += 1;
    return this.overlayFromDecode(r, x.p, clockOffsetUs);
  }

  /** A decoded bridge frame into `r` (overlayFrame); false when it cannot be compared with inner frames. */
  overlayFromDecode(r: FrameRing, p: DecodedPacket, clockOffsetUs: number): boolean {
    const o = overlayFrame(p, clockOffsetUs, this.from);
    if (!o) return false;
    this.writeBase(r, o);
    return true;
  }

  /** The fields every frame has, from a frame made by frame.ts; the slot's index. */
  private writeBase(r: FrameRing, f: OverlayFrame): number {
    const id = r.alloc();
    const i = id & r.mask;
    const whole = this.view.of(f.bytes);
    // the compared bytes are within the frame (frame.ts: a subarray of it, or the frame itself)
    const at = r.store(id, whole, f.frame.byteOffset, f.frame.length);
    r.off[i] = at + f.bytes.byteOffset - f.frame.byteOffset;
    r.len[i] = f.bytes.length;
    r.frameOff[i] = at;
    r.frameCap[i] = f.frame.length;
    r.n[i] = f.n;
    r.ts[i] = f.tsUs;
    r.key[i] = f.key;
    r.fp[i] = fingerprintAt(whole, f.bytes.byteOffset, f.bytes.length, f.checksumAt);
    r.wireLen[i] = f.wireLen;
    r.frameLen[i] = f.frameLen;
    r.checksumAt[i] = f.checksumAt;
    r.dstMac[i] = f.dstMac;
    r.srcMac[i] = f.srcMac;
    r.groupDst[i] = f.groupDst ? 1 : 0;
    return i;
  }
}
