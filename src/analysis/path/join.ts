/**
 * Across nodes: the records each node releases (track.ts), already linked bridge ↔ underlay by
 * that node's correlator, are joined underlay ↔ underlay by their outer bytes, and every branch
 * gets its outcome, its per-hop times, and a reason from the evidence.
 *
 *  - A packet on node A's underlay whose outer source is A's VTEP starts a branch ("source").
 *  - A packet on node B's underlay whose outer destination is B's VTEP (or a multicast group B
 *    did not send) waits as a candidate arrival, indexed by a hash of its outer IP id, UDP ports,
 *    VXLAN header and inner frame; a source takes the oldest equal candidate within the window
 *    on the reference clock (each node's clock offset taken off): equal IP id, ports, VNI,
 *    VTEPs, inner key and a digest of the inner frame's first bytes, checksums left out. Not by
 *    time alone: time only bounds where to look.
 *  - A bridge frame no underlay packet took is a frame that stayed on its node, or one that was
 *    never encapsulated (the correlator's reason, sharpened by where its destination MAC lives).
 *
 * Streaming: a source at reference time T is decided once every node has released all it holds
 * up to T + window; candidates leave two windows behind. Both lists are capped.
 */
import { LatencyHistogram } from '../../correlate/latency.js';
import { MAX_INNER_FRAME } from '../../correlate/correlator.js';
import { overlayReason } from '../../correlate/reasons.js';
import { Fifo } from '../../correlate/queue.js';
import { formatMac } from '../../decode/format/addr.js';
import type { ConfigEvidence } from './config.js';
import { GroIndex } from './gro.js';
import { decapsulatesOf, isMulticastIp, sendsOf, type MacHomes, type NodeProfile } from './profile.js';
import type { NodeTrack, ORec, Rec, URec } from './track.js';
import type {
  FrameRef,
  PathBranch,
  PathGroup,
  PathHop,
  PathNodeInfo,
  PathPoint,
  PathSighting,
  PathSightingHook,
  PathStatus,
} from './types.js';

/** Sources waiting, and candidate arrivals held, per node at most (then decided early). */
export const MAX_QUEUED = 300_000;
/** Candidates of one key looked at per source at most. */
const MAX_SCAN = 64;
/**
 * How long after a sighting the next one can still come, µs, at a capture's end: each hop takes
 * tens of µs in the lab (encapsulation, underlay and decapsulation p99 of 30-70 µs in fixtures/lab,
 * recorded at load ~6 on 2 cores); 2 ms leaves room for a loaded host. A frame whose next sighting
 * is missing and would fall after (or this close to) the last frame of the capture that would show
 * it is not-captured, not lost: two tcpdumps never stop at the same instant.
 */
export const EDGE_US = 2_000;
/** Index of each point in PATH_POINTS order. */
const POINT_INDEX: Record<PathPoint, number> = { srcBridge: 0, srcUnderlay: 1, dstUnderlay: 2, dstBridge: 3 };
/** Branches of the followed frame kept at most. */
const MAX_FOLLOWED = 64;

interface Cand {
  u: URec;
  claimed: boolean;
  gone: boolean;
}

interface DstIndex {
  byKey: Map<number, Fifo<Cand>>;
  order: Fifo<Cand>;
}

interface GroupAcc {
  g: Omit<PathGroup, 'latencyUs'>;
  lat: Record<PathHop, LatencyHistogram>;
}

type Target = number | string;

export interface JoinContext {
  tracks: NodeTrack[];
  profiles: NodeProfile[];
  homes: MacHomes;
  windowUs: number;
  maxListed: number;
  follow: FrameRef | undefined;
  /** Each node's recorded overlay configuration (by node index), when the session has it. */
  config: (ConfigEvidence | undefined)[];
  /** Told every sighting of every branch as the branch is decided (PathOptions.onSighting). */
  onSighting?: PathSightingHook | undefined;
}

/** Said where only the traffic speaks: what a recorded configuration would add. */
const RECORD_HINT =
  "recording each node's configuration would tell more (capture records it in session.json; for older captures: check NODE… --save DIR)";

const HOP_OF: Record<Exclude<PathStatus, 'delivered' | 'not-captured'>, PathHop | 'delivery'> = {
  'not-encapsulated': 'encapsulation',
  'lost-underlay': 'underlay',
  'not-decapsulated': 'decapsulation',
  misdirected: 'delivery',
};

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function ms(us: number): string {
  const v = us / 1000;
  return v >= 100 ? `${v.toFixed(0)} ms` : v >= 1 ? `${v.toFixed(1)} ms` : `${Math.round(us)} µs`;
}

function mac(m: number): string {
  return Number.isFinite(m) ? formatMac(m) : '?';
}

/** 01:80:c2:00:00:0X: link-local control frames (STP, LACP, LLDP) a bridge never forwards. */
function linkLocalGroup(m: number): boolean {
  return Number.isFinite(m) && Math.floor(m / 16) === 0x0180c200000;
}

export class PathJoiner {
  private readonly w: number;
  private readonly names: string[];
  private readonly vtepOf: (string | undefined)[];
  private readonly owner = new Map<string, number>();
  private readonly srcQ: Fifo<URec>[];
  private readonly dst: DstIndex[];
  private readonly groups = new Map<string, GroupAcc>();
  private readonly sends: { vni: number; port: number; packets: number }[][];
  private readonly decaps: number[][];
  /** Per node: its bridge's TCP frames no underlay packet matched (a GRO-merged frame is one). */
  private readonly gro: GroIndex<ORec>[];
  readonly incomplete: PathBranch[] = [];
  listsCapped = false;
  readonly followed: PathBranch[] = [];
  followNote: string | undefined;
  readonly local: number[];
  readonly arrivedUnseen: number[];
  readonly thirdParty: number[];
  forced = 0;
  peakQueued = 0;
  /**
   * The records behind the sightings of the branch being built (by PATH_POINTS index), for
   * onSighting: a branch is built and decided in one go, so one set of slots serves every branch.
   */
  private readonly seenRecs: (Rec | undefined)[] = [undefined, undefined, undefined, undefined];

  constructor(private readonly ctx: JoinContext) {
    this.w = ctx.windowUs;
    this.names = ctx.profiles.map((p) => p.input.name);
    this.vtepOf = ctx.profiles.map((p) => p.vtep);
    ctx.profiles.forEach((p, i) => {
      if (p.vtep !== undefined) this.owner.set(p.vtep, i);
    });
    const n = ctx.profiles.length;
    this.srcQ = Array.from({ length: n }, () => new Fifo<URec>());
    this.dst = Array.from({ length: n }, () => ({ byKey: new Map(), order: new Fifo<Cand>() }));
    this.sends = ctx.profiles.map(sendsOf);
    this.decaps = ctx.profiles.map(decapsulatesOf);
    this.gro = ctx.profiles.map(() => new GroIndex<ORec>());
    this.local = new Array<number>(n).fill(0);
    this.arrivedUnseen = new Array<number>(n).fill(0);
    this.thirdParty = new Array<number>(n).fill(0);
  }

  // ---- records in ----

  /** A record a node released: its correlator link is final. */
  receive(r: Rec): void {
    if (r.kind === 'u') this.receiveU(r);
    else this.receiveO(r);
  }

  private receiveU(u: URec): void {
    const own = this.vtepOf[u.node];
    if (own !== undefined && u.vtepSrc === own) {
      const q = this.srcQ[u.node] as Fifo<URec>;
      q.push(u);
      if (q.size > MAX_QUEUED) {
        this.forced += 1;
        this.resolve(q.shift() as URec);
      }
      this.peak(q.size);
    } else if (own !== undefined && (u.vtepDst === own || (isMulticastIp(u.vtepDst) && this.owner.has(u.vtepSrc)))) {
      const d = this.dst[u.node] as DstIndex;
      const c: Cand = { u, claimed: false, gone: false };
      let list = d.byKey.get(u.xkey);
      if (!list) d.byKey.set(u.xkey, (list = new Fifo()));
      list.push(c);
      d.order.push(c);
      if (d.order.size > MAX_QUEUED) {
        this.forced += 1;
        this.evict(u.node, d.order.shift() as Cand);
      }
      this.peak(d.order.size);
    } else {
      (this.thirdParty[u.node] as number) += 1;
      if (this.isFollowed(u))
        this.followNote =
          own === undefined
            ? `${this.names[u.node]}'s VTEP is not known, so its underlay packets cannot be placed on a path ` +
              `(give it with --vtep ${this.names[u.node]}=ADDRESS)`
            : `a VXLAN packet from ${u.vtepSrc} to ${u.vtepDst}: ` +
              `neither is ${this.names[u.node]}'s VTEP ${own} (traffic between other nodes, ` +
              'seen through a mirrored port or a hub)';
    }
  }

  private peak(n: number): void {
    if (n > this.peakQueued) this.peakQueued = n;
  }

  private receiveO(o: ORec): void {
    const a = o.node;
    const others = this.otherNodes(a);
    if (o.claims > 0) {
      // a group-addressed frame sent to some VTEPs but not to every captured node's: a flood entry missing
      if (o.groupDst && o.direction === 'encap' && !linkLocalGroup(o.dstMac)) {
        const sentTo = o.sentTo ?? [];
        if (!sentTo.some(isMulticastIp)) {
          for (const b of others) if (!sentTo.includes(this.vtepOf[b] as string)) this.notEncapsulated(o, b, 'bum-not-flooded', sentTo);
        }
      }
      if (o.direction === 'decap' && this.isFollowed(o) && this.followed.length === 0)
        this.followNote ??= `frame ${o.frame} arrived decapsulated on ${this.names[a]}`;
      return;
    }
    if (o.tcp) (this.gro[a] as GroIndex<ORec>).add(o, o.tcp, o.tsUs, o.ref);
    const profile = this.ctx.profiles[a] as NodeProfile;
    const listed = profile.overlayReasons.get(o.n);
    let code = listed?.code ?? this.classify(o);
    // a TCP frame over any MTU from a MAC behind another VTEP did not fail to leave: GRO merged the
    // segments that brought it (each followed as an arrival, delivered inside it)
    if (code === 'too-big' && o.tcp) {
      const from = this.homeOf(o.srcMac);
      if (from !== undefined && from !== a) code = 'remote-src';
    }
    // the correlator only knows the MACs this node's underlay showed; every node's captures say more
    if (code === 'local' && !o.groupDst) {
      const t = this.homeOf(o.dstMac);
      if (t !== undefined && t !== a) code = 'remote-dst';
    }
    const follow = this.isFollowed(o);
    // on the bridge when the node's underlay capture was not running (yet, any more): its encapsulation is not in this session
    const edge = code === 'bum-not-flooded' || code === 'remote-dst' ? this.outsideUnderlayCapture(o) : undefined;
    switch (code) {
      case 'bum-not-flooded':
        if (linkLocalGroup(o.dstMac)) break;
        for (const b of others) this.notEncapsulated(o, b, edge ?? 'bum-not-flooded', [], edge !== undefined);
        if (others.length === 0) this.notEncapsulated(o, '?', edge ?? 'bum-not-flooded', [], edge !== undefined);
        return;
      case 'too-big':
      case 'remote-dst':
        this.notEncapsulated(o, this.homeOf(o.dstMac) ?? '?', edge ?? code, [], edge !== undefined);
        return;
      case 'remote-src':
        (this.arrivedUnseen[a] as number) += 1;
        if (follow)
          this.followNote =
            `frame ${o.frame} came from ${mac(o.srcMac)}, which lives behind another VTEP, ` +
            `but ${this.names[a]}'s underlay capture has no VXLAN packet carrying it: ` +
            'the underlay capture missed it';
        return;
      case 'before-underlay':
      case 'after-underlay':
      case 'no-underlay':
      case 'not-ethernet': {
        const t = o.groupDst ? undefined : this.homeOf(o.dstMac);
        if (t !== undefined && t !== a) {
          this.notEncapsulated(o, t, code, [], true);
          return;
        }
        break;
      }
      default:
        break;
    }
    (this.local[a] as number) += 1;
    if (follow)
      this.followNote =
        `frame ${o.frame} stayed on ${this.names[a]}: ` +
        (listed?.reason ?? 'its destination is on this node (guest ↔ bridge, or between local guests), so it does not enter the tunnel');
  }

  /**
   * A bridge frame whose encapsulation would fall outside its node's underlay capture (before its
   * first frame, or after its last frame less EDGE_US): its code (the correlator's words for it), or
   * undefined. The correlator says so only a whole window before or after; path needs it to the
   * frame, since two tcpdumps of one node start and stop apart.
   */
  private outsideUnderlayCapture(o: ORec): 'before-underlay' | 'after-underlay' | undefined {
    const span = (this.ctx.profiles[o.node] as NodeProfile).span.underlay;
    if (!span) return undefined;
    if (o.tsUs < span[0]) return 'before-underlay';
    if (o.tsUs + EDGE_US > span[1]) return 'after-underlay';
    return undefined;
  }

  /** The correlator's classification of an unmatched bridge frame, for frames beyond its list's cap. */
  private classify(o: ORec): string {
    if (o.groupDst) return 'bum-not-flooded';
    if (o.frameLen > MAX_INNER_FRAME + 4) return 'too-big';
    const d = this.homeOf(o.dstMac);
    if (d !== undefined && d !== o.node) return 'remote-dst';
    const s = this.homeOf(o.srcMac);
    if (s !== undefined && s !== o.node) return 'remote-src';
    return 'local';
  }

  /** Where a MAC lives: a node's index, `VTEP <address>` for a VTEP not captured, or unknown. */
  private homeOf(m: number): Target | undefined {
    const h = this.ctx.homes.home(m);
    if (h === undefined) return undefined;
    if ('node' in h) return h.node;
    return this.owner.get(h.vtep) ?? `VTEP ${h.vtep}`;
  }

  private otherNodes(a: number): number[] {
    const out: number[] = [];
    this.vtepOf.forEach((v, i) => {
      if (i !== a && v !== undefined) out.push(i);
    });
    return out;
  }

  private label(t: Target): string {
    return typeof t === 'number' ? (this.names[t] as string) : t;
  }

  // ---- time goes on ----

  /** Decides every source whose window has passed on every node, and lets old candidates go. */
  advance(): void {
    let s = Infinity;
    for (const t of this.ctx.tracks) s = Math.min(s, t.frontier());
    const w = this.w;
    for (const q of this.srcQ) {
      for (let u = q.peek(); u !== undefined && u.ref + w < s; u = q.peek()) this.resolve(q.shift() as URec);
    }
    this.dst.forEach((d, b) => {
      for (let c = d.order.peek(); c !== undefined && c.u.ref < s - 2 * w; c = d.order.peek()) this.evict(b, d.order.shift() as Cand);
    });
    // an arrival is decided at most a window after the source left, the bridge frame it was merged into a window after that
    for (const g of this.gro) g.expire(s - 3 * w);
  }

  /** Every node is done: decide the rest. */
  finish(): void {
    for (const q of this.srcQ) for (let u = q.shift(); u !== undefined; u = q.shift()) this.resolve(u);
    this.dst.forEach((d, b) => {
      for (let c = d.order.shift(); c !== undefined; c = d.order.shift()) this.evict(b, c);
    });
  }

  /** A candidate leaves the index; unclaimed, it is a packet that arrived with no source sighting. */
  private evict(b: number, c: Cand): void {
    const d = this.dst[b] as DstIndex;
    const list = d.byKey.get(c.u.xkey);
    if (list) {
      for (let h = list.peek(); h !== undefined && h !== c; h = list.peek()) list.shift();
      if (list.peek() === c) list.shift();
      if (list.size === 0) d.byKey.delete(c.u.xkey);
    }
    c.gone = true;
    if (!c.claimed) this.arrivalOnly(b, c.u);
  }

  /** The oldest unclaimed candidate on node b that is the same packet as `u`, within the window. */
  private claim(b: number, u: URec): Cand | undefined {
    const list = (this.dst[b] as DstIndex).byKey.get(u.xkey);
    if (!list) return undefined;
    for (let h = list.peek(); h !== undefined && (h.gone || h.claimed); h = list.peek()) list.shift();
    for (let i = 0; i < Math.min(list.size, MAX_SCAN); i++) {
      const c = list.at(i) as Cand;
      if (c.gone || c.claimed || c.u.ref < u.ref - this.w) continue;
      if (c.u.ref > u.ref + this.w) break;
      const x = c.u;
      if (
        x.innerKey === u.innerKey &&
        x.ipId === u.ipId &&
        x.srcPort === u.srcPort &&
        x.dstPort === u.dstPort &&
        x.vni === u.vni &&
        x.vxlanFlags === u.vxlanFlags &&
        x.vtepSrc === u.vtepSrc &&
        x.vtepDst === u.vtepDst &&
        (x.digestLen !== u.digestLen || x.digest === u.digest)
      ) {
        c.claimed = true;
        return c;
      }
    }
    return undefined;
  }

  // ---- branches ----

  private sighting(r: Rec): PathSighting {
    const input = this.ctx.profiles[r.node]?.input;
    const file = r.kind === 'u' ? input?.underlay.name : input?.overlay.name;
    return { node: this.names[r.node] as string, file: file ?? '?', frame: r.frame, tsUs: round3(r.tsUs), refUs: round3(r.ref) };
  }

  /** Sets the branch's sighting at `point`, and keeps its record for onSighting. */
  private see(b: PathBranch, point: PathPoint, r: Rec): PathSighting {
    this.seenRecs[POINT_INDEX[point]] = r;
    const s = this.sighting(r);
    b.sightings[point] = s;
    return s;
  }

  private branch(src: string, dst: string, vni: number | null): PathBranch {
    this.seenRecs.fill(undefined);
    return {
      src,
      dst,
      vni,
      flood: false,
      sightings: {},
      hopsUs: {},
      status: 'delivered',
      start: 'bridge',
      loss: false,
      lastSeen: null,
      code: 'delivered',
      reason: '',
      checksumOffload: false,
      notes: [],
    };
  }

  /** A packet leaving a node's VTEP: its source bridge sighting, then one branch per destination. */
  private resolve(u: URec): void {
    const a = u.node;
    const dsts: Target[] = isMulticastIp(u.vtepDst) ? this.otherNodes(a) : [this.owner.get(u.vtepDst) ?? `VTEP ${u.vtepDst}`];
    for (const t of dsts) {
      const b = this.branch(this.names[a] as string, this.label(t), u.vni);
      b.vtepSrc = u.vtepSrc;
      b.vtepDst = u.vtepDst;
      b.udpPort = u.dstPort;
      const link = u.link;
      if (link && link.l.direction === 'encap') {
        this.see(b, 'srcBridge', link.o);
        b.hopsUs.encapsulation = round3(u.tsUs - link.o.tsUs);
        b.flood = link.l.flood;
        if (link.l.checksumDiffers) b.checksumOffload = true;
      } else {
        const why = this.ctx.profiles[a]?.underlayReasons.get(u.n);
        if (why?.code === 'from-vxlan-device') b.notes.push(`started on the underlay: ${why.reason}`);
        else b.notes.push(`not found on ${this.names[a]}'s bridge: ${why?.reason ?? 'no bridge frame with these bytes within the window'}`);
        b.start = why?.code === 'from-vxlan-device' ? 'vxlan-device' : 'source-bridge-missed';
      }
      this.see(b, 'srcUnderlay', u);
      if (typeof t === 'string') {
        this.finishBranch(
          b,
          'not-captured',
          'vtep-not-captured',
          `left ${this.names[a]}'s underlay for VTEP ${u.vtepDst}, which is not one of the captured nodes: its arrival is not in this session`,
          u,
        );
        continue;
      }
      const c = this.claim(t, u);
      if (c) this.arrived(b, t, c.u, u);
      else this.notArrived(b, t, u);
    }
  }

  /** Seen on the destination's underlay: decapsulated or not. */
  private arrived(b: PathBranch, t: number, x: URec, from: URec | undefined): void {
    const arrival = this.see(b, 'dstUnderlay', x);
    if (from) {
      b.hopsUs.underlay = round3(x.ref - from.ref);
      if (from.csum >= 0 && x.csum >= 0 && from.csum !== x.csum) b.checksumOffload = true;
    }
    const link = x.link;
    if (link && link.l.direction === 'decap') {
      this.see(b, 'dstBridge', link.o);
      b.hopsUs.decapsulation = round3(link.o.tsUs - x.tsUs);
      if (link.l.checksumDiffers) b.checksumOffload = true;
      this.finishBranch(b, 'delivered', 'delivered', `delivered: decapsulated onto ${this.names[t]}'s bridge`, x);
      return;
    }
    const merged = x.tcp ? (this.gro[t] as GroIndex<ORec>).covering(x.tcp, x.tsUs, this.w) : undefined;
    if (merged && x.tcp) {
      this.see(b, 'dstBridge', merged);
      b.hopsUs.decapsulation = round3(merged.tsUs - x.tsUs);
      const note =
        `merged by GRO: its ${x.tcp.len}-byte TCP segment lies inside the ${merged.tcp?.len ?? '?'}-byte ` +
        `segment of frame #${merged.frame} (${merged.frameLen} bytes) on ${this.names[t]}'s bridge, ` +
        'which several underlay packets of the flow became (generic receive offload): delivered, not lost';
      b.notes.push(note);
      this.finishBranch(b, 'delivered', 'delivered', `delivered: decapsulated onto ${this.names[t]}'s bridge, ${note}`, x);
      return;
    }
    const p = this.ctx.profiles[t] as NodeProfile;
    const name = this.names[t] as string;
    const span = p.span.overlay;
    const where = `arrived on ${name}'s underlay (${arrival.file} #${x.frame})`;
    const cfg = this.ctx.config[t];
    if (cfg) {
      // the receiver's recorded configuration decides: which VNI, port and group its devices take, what its filter drops
      const notTaken = cfg.notTaken(x.vni, x.dstPort, x.vtepDst, b.src);
      if (notTaken) {
        const own = notTaken.code === 'port-mismatch' || notTaken.code === 'vni-mismatch' ? (this.sends[t] ?? []) : [];
        const ownWords = own.length
          ? `; ${name}'s own packets go out with ${own
              .slice(0, 3)
              .map((o) => `VNI ${o.vni} to UDP ${o.port}`)
              .join(', ')}`
          : '';
        this.finishBranch(
          b,
          'not-decapsulated',
          notTaken.code,
          `${where}${notTaken.code === 'port-mismatch' ? ` on UDP port ${x.dstPort}` : ''} but was not decapsulated: ${notTaken.text}${ownWords}`,
          x,
        );
        return;
      }
      // Linux never moves a static FDB entry: a packet whose inner source MAC has one toward another VTEP is dropped (vxlan_snoop)
      const pinned = cfg.fdbEntry(x.innerSrcMac);
      if (pinned && pinned.dst !== x.vtepSrc && (pinned.state === 'static' || pinned.state === 'permanent') && cfg.device) {
        this.finishBranch(
          b,
          'not-decapsulated',
          'stale-fdb',
          `${where} but was not decapsulated: ${name}'s ${cfg.device.name} has a ${pinned.state} entry for ` +
            `its inner source ${pinned.mac} → ${pinned.dst ?? '?'} (${cfg.source}), ` +
            `and this packet comes from ${x.vtepSrc}: Linux drops VXLAN packets whose source MAC is pinned to ` +
            'another VTEP (a static entry is never moved); a stale FDB entry after a move ' +
            `(bridge fdb del ${pinned.mac} dev ${cfg.device.name} dst ${pinned.dst ?? ''})`,
          x,
        );
        return;
      }
      const drops = cfg.dropsPort(x.dstPort);
      if (drops) {
        this.finishBranch(
          b,
          'not-decapsulated',
          'firewall-drops-port',
          `${where} (tcpdump sees a packet before the packet filter does) but was not decapsulated: ${name}'s packet filter drops UDP ${x.dstPort}: ${drops}`,
          x,
        );
        return;
      }
    }
    const sends = this.sends[t] ?? [];
    const vnis = [...new Set([...sends.map((s) => s.vni), ...(this.decaps[t] ?? [])])].sort((m, n) => m - n);
    const ports = [...new Set(sends.map((s) => s.port))].sort((m, n) => m - n);
    if (vnis.length > 0 && !vnis.includes(x.vni)) {
      this.finishBranch(
        b,
        'not-decapsulated',
        'vni-mismatch',
        `${where} but was not decapsulated: VNI ${x.vni} is not configured on ${name}, ` +
          `whose VXLAN device uses VNI ${vnis.join(', ')} (as its own traffic shows): ` +
          'the VNIs differ between the nodes (ip -d link show type vxlan: "id")',
        x,
      );
      return;
    }
    if (ports.length > 0 && !ports.includes(x.dstPort)) {
      this.finishBranch(
        b,
        'not-decapsulated',
        'port-mismatch',
        `${where} on UDP port ${x.dstPort} but was not decapsulated: ${name}'s VXLAN device uses ` +
          `port ${ports.join(', ')} (it sends to it), so nothing listens on ${x.dstPort} there: ` +
          'the ports differ between the nodes (ip -d link show type vxlan: "dstport"; ' +
          `Linux's default without dstport is 8472, IANA's 4789)`,
        x,
      );
      return;
    }
    // no configuration evidence: a bridge capture that was not running (yet, any more) explains it too
    if (!span || x.tsUs < span[0] || x.tsUs + EDGE_US > span[1]) {
      this.finishBranch(
        b,
        'not-captured',
        'outside-bridge-capture',
        `${where} when ${name}'s bridge capture was not running (or within ${ms(EDGE_US)} of its end; ` +
          'its first and last frames are ' +
          (span ? `at ${(span[0] / 1e6).toFixed(6)} and ${(span[1] / 1e6).toFixed(6)} s` : 'at nowhere: it is empty') +
          '): its decapsulation is not in this session',
        x,
      );
      return;
    }
    const why = p.underlayReasons.get(x.n);
    const more = cfg
      ? `; ${name}'s configuration (${cfg.source}) takes VNI ${x.vni} on UDP ${x.dstPort} and shows no ` +
        'packet filter dropping it: the bridge (no port, filtering) or the bridge capture'
      : `; ${RECORD_HINT}`;
    this.finishBranch(
      b,
      'not-decapsulated',
      why?.code ?? 'not-delivered',
      `${where} but never reached its bridge: ` +
        (why?.reason ??
          `dropped by ${name}'s VXLAN device or bridge (a firewall on the VXLAN port, the device down, no bridge port), ` +
            'or the bridge capture missed it') +
        more,
      x,
    );
  }

  /** Left the source's underlay, no equal packet on the destination's. */
  private notArrived(b: PathBranch, t: number, u: URec): void {
    const p = this.ctx.profiles[t] as NodeProfile;
    const name = this.names[t] as string;
    const span = p.span.underlay;
    const at = u.ref + (p.input.clockOffsetUs ?? 0);
    const left = `left ${this.names[u.node]}'s underlay (${b.sightings.srcUnderlay?.file} #${u.frame}) for VTEP ${u.vtepDst}`;
    if (!span || at < span[0] || at + EDGE_US > span[1]) {
      this.finishBranch(
        b,
        'not-captured',
        'outside-underlay-capture',
        `${left} when ${name}'s underlay capture was not running ` +
          `(or within ${ms(EDGE_US)} of its last frame, at ${span ? (span[1] / 1e6).toFixed(6) : '?'} s): ` +
          'its arrival is not in this session',
        u,
      );
      return;
    }
    const frag = u.outerFragment ? ', an IP fragment' : '';
    this.finishBranch(
      b,
      'lost-underlay',
      'lost-underlay',
      `${left} (UDP ${u.dstPort}, ${u.outerLen} bytes${frag}), ` +
        `never seen on ${name}'s underlay within ±${ms(this.w)}: ` +
        'dropped between the two NICs (a firewall or ACL on ' +
        `UDP ${u.dstPort}${u.outerLen - 14 > 1400 ? `, an underlay MTU below its ${u.outerLen - 14}-byte IP packet` : ''}, ` +
        `a switch), or ${name}'s capture dropped it (tcpdump's "dropped by kernel")`,
      u,
    );
  }

  /** A packet that arrived on node b's underlay from a VTEP that no source sighting matched. */
  private arrivalOnly(t: number, x: URec): void {
    const a = this.owner.get(x.vtepSrc);
    const b = this.branch(a !== undefined ? (this.names[a] as string) : `VTEP ${x.vtepSrc}`, this.names[t] as string, x.vni);
    b.vtepSrc = x.vtepSrc;
    b.vtepDst = x.vtepDst;
    b.udpPort = x.dstPort;
    if (a !== undefined) {
      const pa = this.ctx.profiles[a] as NodeProfile;
      const span = pa.span.underlay;
      const at = x.ref + (pa.input.clockOffsetUs ?? 0);
      const running = span !== null && at >= span[0] && at <= span[1];
      b.notes.push(
        running
          ? `not seen leaving ${this.names[a]}'s underlay: its capture missed it ` +
              `(tcpdump's "dropped by kernel"), or another host sent it with ${x.vtepSrc} as source`
          : `sent when ${this.names[a]}'s underlay capture was not running`,
      );
      b.start = 'source-underlay-missed';
    } else {
      b.notes.push(`from VTEP ${x.vtepSrc}, which is not one of the captured nodes`);
      b.start = 'source-not-captured';
    }
    this.arrived(b, t, x, undefined);
  }

  /** A bridge frame that should have entered the tunnel towards `t` and did not. */
  private notEncapsulated(o: ORec, t: Target, code: string, sentTo: string[], notCaptured = false): void {
    const a = o.node;
    const sends = this.sends[a] ?? [];
    const b = this.branch(
      this.names[a] as string,
      this.label(t),
      sends.length === 1 || (sends[0] && sends.every((s) => s.vni === sends[0]?.vni)) ? (sends[0]?.vni ?? null) : null,
    );
    const seen = this.see(b, 'srcBridge', o);
    const vtep = typeof t === 'number' ? this.vtepOf[t] : t.replace(/^VTEP /, '');
    const where = `never left ${this.names[a]}'s bridge (${seen.file} #${o.frame})`;
    let reason: string;
    if (notCaptured) {
      const text = overlayReason(code as 'before-underlay', {});
      this.finishBranch(b, 'not-captured', code, `${where}, for ${mac(o.dstMac)} behind ${this.label(t)}: ${text}`, o);
      return;
    }
    const cfg = this.ctx.config[a];
    const dev = cfg?.device;
    if (code === 'bum-not-flooded') {
      const flood = cfg?.floodList();
      if (cfg && dev && flood && vtep !== undefined && !flood.includes(vtep)) {
        reason =
          `${where} towards ${this.label(t)}: this broadcast/multicast frame from ${mac(o.srcMac)} was not ` +
          `flooded to VTEP ${vtep}: ${this.names[a]}'s ${dev.name} has no flood entry for it ` +
          `(it floods to: ${flood.length ? flood.join(', ') : 'no one'}; ${cfg.source}): ` +
          `bridge fdb append 00:00:00:00:00:00 dev ${dev.name} dst ${vtep}`;
      } else {
        reason =
          sentTo.length > 0
            ? `${where} towards ${this.label(t)}: this broadcast/multicast frame from ${mac(o.srcMac)} was ` +
              `flooded to ${sentTo.join(', ')} but not to VTEP ${vtep}: ` +
              'no flood entry for it (bridge fdb append 00:00:00:00:00:00 ' +
              `dev ${dev?.name ?? '<vxlan device>'} dst ${vtep})`
            : `${where}: ${overlayReason('bum-not-flooded', { mac: o.srcMac })}`;
        if (!cfg) reason += `; ${RECORD_HINT}`;
      }
    } else if (code === 'too-big') {
      reason = `${where}: ${this.tooBigWords(o, cfg)}`;
    } else {
      const entry = cfg?.fdbEntry(o.dstMac);
      const flood = cfg?.floodList();
      let why =
        `no FDB entry towards it and no flood entry on ${this.names[a]} (bridge fdb show), ` +
        'dropped before encapsulation (bridge filtering, the VXLAN device down), ' +
        'or the underlay capture missed it';
      if (cfg && dev) {
        if (!dev.up) why = `${this.names[a]}'s ${dev.name} is down (${cfg.source})`;
        else if (entry)
          why =
            `${this.names[a]}'s ${dev.name} has an entry ${entry.mac} → ${entry.dst ?? '?'} (${cfg.source}), ` +
            'yet nothing left its underlay: dropped before encapsulation (bridge filtering), ' +
            'or the underlay capture missed it';
        else if (flood && vtep !== undefined && !flood.includes(vtep))
          why =
            `${this.names[a]}'s ${dev.name} has no FDB entry for ${mac(o.dstMac)} and no flood entry for ` +
            `VTEP ${vtep} (it floods to: ${flood.length ? flood.join(', ') : 'no one'}; ${cfg.source}): ` +
            `bridge fdb append 00:00:00:00:00:00 dev ${dev.name} dst ${vtep}`;
        else
          why =
            `${this.names[a]}'s ${dev.name} would flood it (${cfg.source}), yet nothing left its underlay: ` +
            'dropped before encapsulation (bridge filtering), or the underlay capture missed it';
      } else if (!cfg) why += `; ${RECORD_HINT}`;
      reason =
        `${where}: ${mac(o.dstMac)} lives ` +
        `behind ${this.label(t)}${vtep && typeof t === 'number' ? ` (VTEP ${vtep})` : ''}, ` +
        `but this frame never entered the tunnel: ${why}`;
    }
    this.finishBranch(b, 'not-encapsulated', code, reason, o);
  }

  /**
   * Why a frame too big was not encapsulated: larger than the VXLAN device's MTU, or than the
   * underlay carries once wrapped (the recorded MTUs), and the ICMP "fragmentation needed" the
   * node answered with (DF set), seen in its captures.
   */
  private tooBigWords(o: ORec, cfg: ConfigEvidence | undefined): string {
    const a = o.node;
    const name = this.names[a] as string;
    const p = this.ctx.profiles[a] as NodeProfile;
    const ipLen = o.frameLen - 14;
    const parts: string[] = [];
    const m = cfg?.mtus();
    if (m && cfg) {
      let fit: string | undefined;
      if (ipLen > m.mtu) fit = `the frame of ${o.frameLen} bytes (IP packet ${ipLen}) is larger than ${name}'s ${m.device} MTU ${m.mtu}`;
      else if (m.underlayMtu !== null && ipLen + m.overhead > m.underlayMtu)
        fit =
          `the frame of ${o.frameLen} bytes (IP packet ${ipLen}) ` +
          `fits ${m.device}'s MTU ${m.mtu} but not the underlay: ${ipLen} + ${m.overhead} > ${m.underlay}'s ` +
          `MTU ${m.underlayMtu} (set ${m.device}'s mtu to ${m.underlayMtu - m.overhead})`;
      if (fit) parts.push(`${fit} (${cfg.source})`);
    }
    // the ICMP the node sent back: the first one after the frame, within the window
    const icmp = p.tooBig.find((x) => x.side === 'overlay' && x.tsUs >= o.tsUs && x.tsUs <= o.tsUs + this.w);
    if (icmp) {
      parts.push(
        `DF set: ICMP "fragmentation needed"${icmp.mtu !== null ? ` (mtu ${icmp.mtu})` : ''} ` +
          `from ${icmp.from} to ${icmp.to} seen on ${name}'s bridge ` +
          `(${p.input.overlay.name} #${icmp.frame}, ${Math.round(icmp.tsUs - o.tsUs)} µs later)`,
      );
    }
    if (parts.length === 0) return `${overlayReason('too-big', { len: o.frameLen })}${cfg ? '' : `; ${RECORD_HINT}`}`;
    return `not encapsulated, too big: ${parts.join('; ')}`;
  }

  /** Sets the outcome (a stale FDB entry overrides it), and counts the branch. */
  private finishBranch(b: PathBranch, status: PathStatus, code: string, reason: string, last: Rec): void {
    b.status = status;
    b.code = code;
    b.reason = reason;
    const u = last.kind === 'u' ? last : undefined;
    if (u && !u.innerGroupDst && b.vtepDst !== undefined && !isMulticastIp(b.vtepDst)) {
      const home = this.homeOf(u.innerDstMac);
      const dstT = this.owner.get(b.vtepDst) ?? `VTEP ${b.vtepDst}`;
      if (home !== undefined && home !== dstT) {
        b.notes.push(`${reason}`);
        b.status = 'misdirected';
        b.code = 'stale-fdb';
        const cfg = this.ctx.config[u.node];
        const entry = cfg?.fdbEntry(u.innerDstMac);
        const flood = cfg?.floodList();
        const member = this.owner.has(b.vtepDst)
          ? ` (${b.dst})`
          : ` (no captured node${flood && !flood.includes(b.vtepDst) ? `, and not in ${b.src}'s flood list: no member` : ''})`;
        const recorded = cfg?.device
          ? entry
            ? `: ${b.src}'s ${cfg.device.name} has a${entry.state ? ` ${entry.state}` : ' learnt'} ` +
              `entry ${entry.mac} → ${entry.dst ?? '?'} (${cfg.source}): ` +
              `a stale FDB entry (bridge fdb del ${entry.mac} dev ${cfg.device.name} dst ${entry.dst ?? ''})`
            : `: a stale FDB entry on ${b.src} (not in its configuration ${cfg.source}: made or learnt since; bridge fdb show | grep ${mac(u.innerDstMac)})`
          : `: a stale FDB entry on ${b.src} (bridge fdb show | grep ${mac(u.innerDstMac)}; replace or delete it)`;
        b.reason =
          `sent by ${b.src} to VTEP ${b.vtepDst}${member}, but ${mac(u.innerDstMac)} lives ` +
          `behind ${this.label(home)}${typeof home === 'number' && this.vtepOf[home] ? ` (VTEP ${this.vtepOf[home]})` : ''}${recorded}`;
      }
    }
    b.loss = b.status !== 'delivered' && b.status !== 'not-captured';
    const points = ['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge'] as const;
    b.lastSeen = null;
    for (const p of points) if (b.sightings[p]) b.lastSeen = p;
    const hook = this.ctx.onSighting;
    if (hook) {
      for (const [i, p] of points.entries()) {
        const r = this.seenRecs[i];
        if (r) hook(r.node, r.kind === 'u' ? 'underlay' : 'overlay', r.n, p, b.status, b.code, p === b.lastSeen);
      }
    }
    if (b.checksumOffload)
      b.notes.push(
        'the TCP/UDP checksum differs between sightings: checksum offload ' +
          "(the sender's capture sees the checksum before the NIC fills it in, " +
          'tcpdump\'s "bad udp/tcp cksum"), not a loss',
      );
    this.count(b);
  }

  private count(b: PathBranch): void {
    const key = `${b.src}\u0000${b.dst}\u0000${b.vni ?? ''}`;
    let acc = this.groups.get(key);
    if (!acc) {
      acc = {
        g: {
          src: b.src,
          dst: b.dst,
          vni: b.vni,
          sent: 0,
          delivered: 0,
          seen: { srcBridge: 0, srcUnderlay: 0, dstUnderlay: 0, dstBridge: 0 },
          lost: 0,
          lostAt: { encapsulation: {}, underlay: {}, decapsulation: {}, delivery: {} },
          notCaptured: {},
          checksumOffload: 0,
          fromVxlanDevice: 0,
          sourceBridgeMissed: 0,
          sourceUnderlayMissed: 0,
          flooded: 0,
          negativeUnderlay: 0,
        },
        lat: { encapsulation: new LatencyHistogram(), underlay: new LatencyHistogram(), decapsulation: new LatencyHistogram() },
      };
      this.groups.set(key, acc);
    }
    const g = acc.g;
    g.sent += 1;
    if (b.status === 'delivered') g.delivered += 1;
    for (const p of Object.keys(b.sightings) as PathPoint[]) g.seen[p] += 1;
    if (b.loss) {
      g.lost += 1;
      const at = g.lostAt[HOP_OF[b.status as keyof typeof HOP_OF]];
      at[b.code] = (at[b.code] ?? 0) + 1;
    } else if (b.status === 'not-captured') g.notCaptured[b.code] = (g.notCaptured[b.code] ?? 0) + 1;
    if (b.checksumOffload) g.checksumOffload += 1;
    if (b.flood) g.flooded += 1;
    if (b.start === 'vxlan-device') g.fromVxlanDevice += 1;
    else if (b.start === 'source-bridge-missed') g.sourceBridgeMissed += 1;
    else if (b.start === 'source-underlay-missed') g.sourceUnderlayMissed += 1;
    for (const hop of ['encapsulation', 'underlay', 'decapsulation'] as const) {
      const v = b.hopsUs[hop];
      if (v === undefined) continue;
      if (v < 0 && hop === 'underlay') g.negativeUnderlay += 1;
      acc.lat[hop].add(Math.max(0, v));
    }
    if (b.status !== 'delivered') {
      if (this.incomplete.length < this.ctx.maxListed) this.incomplete.push(b);
      else this.listsCapped = true;
    }
    const f = this.ctx.follow;
    if (f && this.followed.length < MAX_FOLLOWED) {
      for (const p of Object.keys(b.sightings) as PathPoint[]) {
        const s = b.sightings[p] as PathSighting;
        const side = p === 'srcBridge' || p === 'dstBridge' ? 'overlay' : 'underlay';
        if (s.node === f.node && side === f.side && s.frame === f.frame) {
          this.followed.push(b);
          break;
        }
      }
    }
  }

  private isFollowed(r: Rec): boolean {
    const f = this.ctx.follow;
    return f !== undefined && this.names[r.node] === f.node && (r.kind === 'u' ? 'underlay' : 'overlay') === f.side && r.frame === f.frame;
  }

  // ---- the report ----

  groupsOut(): PathGroup[] {
    return [...this.groups.values()]
      .map(({ g, lat }) => ({
        ...g,
        latencyUs: {
          encapsulation: lat.encapsulation.summary(),
          underlay: lat.underlay.summary(),
          decapsulation: lat.decapsulation.summary(),
        },
      }))
      .sort((x, y) => x.src.localeCompare(y.src) || x.dst.localeCompare(y.dst) || (x.vni ?? -1) - (y.vni ?? -1));
  }

  nodeInfo(i: number): Pick<PathNodeInfo, 'sends' | 'decapsulates' | 'localFrames' | 'arrivedUnseen' | 'thirdParty'> {
    return {
      sends: this.sends[i] ?? [],
      decapsulates: this.decaps[i] ?? [],
      localFrames: this.local[i] ?? 0,
      arrivedUnseen: this.arrivedUnseen[i] ?? 0,
      thirdParty: this.thirdParty[i] ?? 0,
    };
  }
}
