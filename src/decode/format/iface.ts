/**
 * Where a packet was captured, as tcpdump and tshark say it: the capture interface, and for a
 * Linux cooked capture (SLL/SLL2, what `tcpdump -i any` writes) the direction.
 *
 * - A pcapng section with several interfaces (dumpcap -i eth1 -i vxlan_bridge): the IDB's
 *   `if_name`, or `if<N>` when it has none. One interface: nothing (the file says it once).
 * - SLL2: its interface index, as a name when the caller knows it (e.g. from session.json),
 *   else `ifindex N`. SLL (v1) records no interface.
 * - SLL and SLL2: the packet type, named as tcpdump's print-sll.c names it.
 */
import type { DecodedPacket, RawPacket, SllLayer } from '../types.js';
import { LINKTYPE } from '../registry.js';

/** Linux packet types (PACKET_HOST 0 … PACKET_OUTGOING 4, <linux/if_packet.h>) as tcpdump prints them. */
const DIRECTIONS: readonly string[] = ['In', 'B', 'M', 'P', 'Out'];

/** "In", "B" (broadcast), "M" (multicast), "P" (to another host), "Out"; undefined for other packet types. */
export function sllDirection(packetType: number): string | undefined {
  return DIRECTIONS[packetType];
}

/** The Linux cooked header of a packet (always its first layer), when it has one. */
export function cookedHeader(p: DecodedPacket): SllLayer | undefined {
  const lt = p.raw.linkType;
  if (lt !== LINKTYPE.LINUX_SLL && lt !== LINKTYPE.LINUX_SLL2) return undefined;
  const first = p.layers[0];
  return first !== undefined && first.type === 'sll' ? first : undefined;
}

/** True when the packet's pcapng section has several interfaces: its lines name the interface. */
export function namesInterface(raw: RawPacket): boolean {
  return raw.interfaceId !== undefined && raw.interfaceCount !== undefined && raw.interfaceCount > 1;
}

/**
 * An interface name fit for a one-line output: control characters (a hostile if_name holding a
 * newline would forge lines) become `\xNN`. The last answer is kept: packets of a file repeat
 * the same few name strings, so this allocates once per change of interface at most.
 */
let lastName = '';
let lastSafe = '';
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
const CONTROL = /[\x00-\x1f\x7f]/g;
export function printableName(name: string): string {
  if (name === lastName) return lastSafe;
  lastName = name;
  lastSafe = name.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return lastSafe;
}
