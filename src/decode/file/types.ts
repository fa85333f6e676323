/** Types shared by the capture-file readers and writers. */
import type { CaptureFormatError } from '../../errors.js';

export type CaptureFormat = 'pcap' | 'pcapng';

/** One capture interface: the single link of a classic pcap, or one IDB of a pcapng section. */
export interface CaptureInterface {
  /** Index inside its section (pcapng interface id; 0 for classic pcap). */
  id: number;
  /** LINKTYPE_* value, FCS bits masked off. */
  linkType: number;
  /** pcapng `if_name`, when present. */
  name?: string;
  /** Snapshot length from the header (0 = no limit declared). */
  snaplen: number;
  /** Digits of sub-second precision of its timestamps (6 = µs, 9 = ns). */
  tsDigits: number;
  /** 0-based pcapng section number (0 for classic pcap). */
  section: number;
  /** Bytes of FCS at the end of each frame, when the header says so (pcap link-type bits or pcapng if_fcslen). */
  fcsBytes?: number;
}

export interface ReadSummary {
  format: CaptureFormat | undefined;
  /** Packets delivered to the callback. */
  packets: number;
  /** Bytes taken from the source. */
  bytesRead: number;
  interfaces: CaptureInterface[];
  /** Non-fatal oddities (capped; see MAX_WARNINGS). */
  warnings: string[];
  /** Set when the input is damaged; every packet before `error.offset` was delivered. */
  error?: CaptureFormatError;
}

/** What a packet writer needs. `len` defaults to data.length. */
export interface PacketToWrite {
  tsSec: number;
  /** Sub-second part in nanoseconds (written as µs in a microsecond file). */
  tsNsec: number;
  data: Uint8Array;
  len?: number;
  /** pcapng only: the interface id (default 0). */
  interfaceId?: number;
}

/** Largest captured length we accept for one record (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_CAPLEN = 262_144;
/** Largest pcapng block we parse (unknown blocks are skipped whatever their length). */
export const MAX_BLOCK = 16 * 1024 * 1024;
/** At most this many interfaces (IDBs, over all sections) in one input: bounds memory on hostile files. */
export const MAX_INTERFACES = 65_536;
/** At most this many warning strings are kept. */
export const MAX_WARNINGS = 100;
