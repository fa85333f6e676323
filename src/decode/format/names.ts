/**
 * Names of protocol numbers that more than one view prints, written once: the one-line
 * summary (text.ts) and the packet detail (fields.ts) say the same thing for the same type.
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
