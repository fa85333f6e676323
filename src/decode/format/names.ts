/**
 * Names of protocol numbers that more than one view prints, written once: the one-line
 * summary (text.ts), the packet detail (fields.ts) and the export rows (src/export/fields.ts)
 * say the same thing for the same number.
 */

/** ICMPv6 message types (RFC 4443, RFC 4861's "neighbor" as tcpdump spells it, RFC 3810). */
export const ICMPV6_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  128: 'echo request',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'multicast listener report',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'multicast listener report v2',
};

/** IP protocol numbers by the name people use (text summaries, export rows for protocols without a decoder). */
export const IP_PROTO_NAMES: Readonly<Record<number, string>> = {
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPIP',
  6: 'TCP',
  17: 'UDP',
  41: 'IPv6',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  89: 'OSPF',
  103: 'PIM',
  112: 'VRRP',
  132: 'SCTP',
};
