/**
 * The captures in fixtures/synth, made byte by byte from explained values. The generator
 * (scripts/make-fixtures.mjs) writes them; test/fixtures.test.ts rebuilds them in memory and
 * checks the committed files are exactly these bytes, then checks their decode.
 */
import { PcapWriter, PcapngWriter } from '../decode/file/index.js';
import type { PacketToWrite } from '../decode/file/index.js';
import * as f from './frames.js';
import { CLASS, classScenario, type TimedFrame } from './scenario.js';

export interface FixtureFile {
  name: string;
  /** One line per fixture for fixtures/synth/README.md. */
  about: string;
  bytes: Uint8Array;
  /** Expected exit code of `decode` (1 for the deliberately damaged file). */
  exitCode: 0 | 1;
}

function pcap(frames: PacketToWrite[], opts: ConstructorParameters<typeof PcapWriter>[0] = {}): Uint8Array {
  return new PcapWriter(opts).file(frames);
}

/** Frames that exercise one decoder path each; the comment says what the bytes are. */
export function edgeFrames(): { about: string; frame: PacketToWrite }[] {
  const { vm1, vm2 } = CLASS;
  const arp = f.ethernet('ff:ff:ff:ff:ff:ff', vm1.mac, 0x0806, f.arpRequest(vm1.mac, vm1.ip, vm2.ip));
  const echo = f.ethernet(
    vm2.mac,
    vm1.mac,
    0x0800,
    f.ipv4({ src: vm1.ip, dst: vm2.ip, proto: 1 }, f.icmpEcho(8, 7, 1, new Uint8Array(56))),
  );
  const t = (i: number) => ({ tsSec: 1_764_140_100 + i, tsNsec: 0 });
  const list: { about: string; frame: PacketToWrite }[] = [];
  const add = (about: string, data: Uint8Array, len?: number) => {
    const frame: PacketToWrite = { ...t(list.length), data };
    if (len !== undefined) frame.len = len;
    list.push({ about, frame });
  };
  add('VXLAN on 4789, VNI 10, inner ARP who-has (the class)', f.vxlanPacket(arp));
  add('VXLAN on 8472, the Linux default without dstport', f.vxlanPacket(arp, { dstPort: 8472 }));
  add('VXLAN on 9999: plain UDP unless --vxlan-port 9999', f.vxlanPacket(arp, { dstPort: 9999, srcPort: 40000 }));
  add('VXLAN with the I flag clear: a warning, the inner frame still decodes', f.vxlanPacket(arp, { flags: 0x00 }));
  const gbp = f.vxlanPacket(echo);
  gbp[42] = 0x88; // G and I flags
  gbp[44] = 0x00; // group policy id 0x0042
  gbp[45] = 0x42;
  add('VXLAN Group Based Policy: G bit, group id 66', gbp);
  add('VXLAN in VXLAN in VXLAN (VNIs 1, 2, 3)', f.vxlanPacket(f.vxlanPacket(f.vxlanPacket(arp, { vni: 3 }), { vni: 2 }), { vni: 1 }));
  const full = f.vxlanPacket(echo);
  add('snaplen 64 cut inside the inner IPv4 header: truncated, not an error', full.subarray(0, 64), full.length);
  add(
    '802.1ad S-tag 100 + 802.1Q C-tag 200, ARP',
    f.ethernet('ff:ff:ff:ff:ff:ff', vm1.mac, 0x88a8, f.vlanTag(100, 0x8100, f.vlanTag(200, 0x0806, f.arpRequest(vm1.mac, vm1.ip, vm2.ip)))),
  );
  const ns = f.concat(
    Uint8Array.from([135, 0, 0, 0, 0, 0, 0, 0]),
    f.ipv6Addr('fe80::340f:4aff:fe00:6'),
    Uint8Array.from([1, 1, ...f.mac(vm1.mac)]),
  );
  add(
    'IPv6 neighbour solicitation inside VXLAN',
    f.vxlanPacket(
      f.ethernet(
        '33:33:ff:00:00:06',
        vm1.mac,
        0x86dd,
        f.ipv6({ src: 'fe80::340f:4aff:fe00:5', dst: 'ff02::1:ff00:6', nextHeader: 58, hopLimit: 255 }, ns),
      ),
    ),
  );
  const big = f.ethernet(
    vm2.mac,
    vm1.mac,
    0x0800,
    f.ipv4({ src: vm1.ip, dst: vm2.ip, proto: 1, flags: 1, id: 77 }, f.icmpEcho(8, 7, 2, new Uint8Array(1472))),
  );
  add('inner IPv4 first fragment (3000-byte ping) inside VXLAN', f.vxlanPacket(big));
  const geneveIp = f.concat(
    Uint8Array.from([0x00, 0x00, 0x08, 0x00, 0x00, 0x13, 0x89, 0x00]),
    f.ipv4({ src: '192.168.1.1', dst: '192.168.1.2', proto: 1 }, f.icmpEcho(8, 9, 9)),
  );
  add(
    'GENEVE VNI 5001 carrying IPv4 with no Ethernet',
    f.ethernet(
      CLASS.kvm2.mac,
      CLASS.kvm1.mac,
      0x0800,
      f.ipv4({ src: '10.3.1.156', dst: '10.3.1.174', proto: 17 }, f.udp(50000, 6081, geneveIp)),
    ),
  );
  const bad = f.vxlanPacket(arp);
  bad[14] = 0x43; // IPv4 header length 12: malformed
  add('outer IPv4 header length 12: malformed at byte 14', bad);
  return list;
}

export function fixtureFiles(): FixtureFile[] {
  const sc = classScenario();
  const withLen = (fr: TimedFrame): PacketToWrite => ({ tsSec: fr.tsSec, tsNsec: fr.tsNsec, data: fr.data });
  const eth1 = pcap(sc.underlay.map(withLen));
  const bridge = pcap(sc.overlay.map(withLen));
  // pcapng: two interfaces as `tcpdump -i any`-less dumpcap would record them, eth1 in ns resolution.
  const ng = new PcapngWriter({
    interfaces: [{ name: 'eth1', tsresol: 9 }, { name: 'vxlan_bridge' }],
    userAppl: 'vxlan-inspect fixture generator',
  });
  const merged = [
    ...sc.underlay.map((fr) => ({ ...withLen(fr), interfaceId: 0 })),
    ...sc.overlay.map((fr) => ({ ...withLen(fr), interfaceId: 1 })),
  ].sort((a, b) => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec);
  const ngBytes = f.concat(ng.header(), ...merged.map((p) => ng.record(p)));
  // `tcpdump -i any -w … udp port 4789` on kvm1 (Linux cooked v2): the underlay's VXLAN packets,
  // all on eth1 (ifindex 3: lo 1, eth0 2, eth1 3 as on the class's VMs), Out when kvm1 is the
  // outer source, In when it receives; the same frames as class-kvm1-eth1.pcap otherwise.
  const eth1Index = 3;
  const any = pcap(
    sc.underlay.map((fr) => {
      const outgoing = Buffer.from(fr.data.subarray(26, 30)).equals(f.ipv4Addr(CLASS.kvm1.underlay)); // the outer IPv4 source (bytes 26-29)
      return {
        tsSec: fr.tsSec,
        tsNsec: fr.tsNsec,
        data: f.sll2FromEthernet(fr.data, eth1Index, outgoing ? f.PACKET_OUTGOING : f.PACKET_HOST),
      };
    }),
    { linkType: 276 },
  );
  const edges = edgeFrames();
  const damaged = eth1.subarray(0, eth1.length - 20);
  return [
    {
      name: 'class-kvm1-eth1.pcap',
      about: "kvm1's underlay: ARP and 4 pings vm1 → vm2 in VXLAN VNI 10 (UDP 4789), µs pcap",
      bytes: eth1,
      exitCode: 0,
    },
    {
      name: 'class-kvm1-vxlan_bridge.pcap',
      about: "kvm1's vxlan_bridge at the same moments: the same inner frames, plus 2 local pings vm1 → 10.220.220.201",
      bytes: bridge,
      exitCode: 0,
    },
    {
      name: 'class-kvm1.pcapng',
      about: 'both of the above in one pcapng: interface 0 eth1 (if_tsresol 9, ns), interface 1 vxlan_bridge (µs)',
      bytes: ngBytes,
      exitCode: 0,
    },
    {
      name: 'class-kvm1-any.pcap',
      about:
        "kvm1's underlay as `tcpdump -i any udp port 4789` writes it: " +
        'Linux cooked v2 (link type 276), eth1 = ifindex 3, Out from kvm1 and In to it; ' +
        'the frames of class-kvm1-eth1.pcap with the 14-byte Ethernet header replaced by the ' +
        '20-byte SLL2 header',
      bytes: any,
      exitCode: 0,
    },
    {
      name: 'class-kvm1-eth1-ns-be.pcap',
      about: 'the underlay file as a big-endian, nanosecond pcap (magic a1b23c4d)',
      bytes: pcap(sc.underlay.map(withLen), { nanosecond: true, bigEndian: true }),
      exitCode: 0,
    },
    {
      name: 'edge-cases.pcap',
      about: `${edges.length} frames, one decoder path each: ${edges.map((e, i) => `${i + 1}) ${e.about}`).join('; ')}`,
      bytes: pcap(edges.map((e) => e.frame)),
      exitCode: 0,
    },
    {
      name: 'damaged-last-record.pcap',
      about: 'class-kvm1-eth1.pcap with its last 20 bytes cut: every packet before is read, then an error with the offset',
      bytes: damaged,
      exitCode: 1,
    },
  ];
}
