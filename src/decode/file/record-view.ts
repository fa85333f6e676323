/**
 * RecordView: one capture record as the parser found it, without a RawPacket or a view of its
 * own. The format decoders fill it in place for every record; CaptureParser.next() makes the
 * RawPacket of it (rawPacket()), CaptureParser.nextRecord() hands the view itself to callers that
 * only read a few fields of each record (the counting path of `stats`): no object and no
 * subarray per record.
 *
 * One object per parser, overwritten by every record: a caller of nextRecord() must read what it
 * needs before asking for the next record and must not keep the view, nor `bytes` (a chunk the
 * parser was given, or its copy of a record that straddled two chunks); rawPacket() gives a packet
 * that stays valid.
 */
import type { RawPacket } from '../types.js';

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

export class RecordView {
  /** The bytes the record lies in: a pushed chunk, or the parser's copy of a record that straddled chunks. */
  bytes: Uint8Array = EMPTY;
  /** A DataView over the same bytes as `bytes` (the parser's, one per chunk). */
  dv: DataView = EMPTY_VIEW;
  /** Where the captured data starts in `bytes`; it is `caplen` bytes long. */
  dataAt = 0;
  /** Bytes captured. */
  caplen = 0;
  /** Bytes on the wire. */
  len = 0;
  tsSec = 0;
  tsNsec = 0;
  tsDigits = 6;
  /** LINKTYPE_* value (FCS bits of a pcap header masked off). */
  linkType = 0;
  /** Byte offset of the record (pcap record header or pcapng block) in the input. */
  fileOffset = 0;
  /** pcapng: the interface index in its section, its if_name, and how many interfaces the section had declared. */
  interfaceId: number | undefined = undefined;
  interfaceName: string | undefined = undefined;
  interfaceCount: number | undefined = undefined;
  /**
   * A pcapng record: its RawPacket carries `interfaceCount` (classic pcap packets never had the
   * key; kept so, a packet is the same object whichever way it was read).
   */
  pcapng = false;

  /** The record as a RawPacket whose `data` is a view that stays valid (the parser never reuses memory it handed out). */
  rawPacket(): RawPacket {
    const start = this.dataAt;
    const data = this.bytes.subarray(start, start + this.caplen);
    if (!this.pcapng) {
      return {
        tsSec: this.tsSec,
        tsNsec: this.tsNsec,
        tsDigits: this.tsDigits,
        caplen: this.caplen,
        len: this.len,
        linkType: this.linkType,
        interfaceId: undefined,
        interfaceName: undefined,
        fileOffset: this.fileOffset,
        data,
      };
    }
    return {
      tsSec: this.tsSec,
      tsNsec: this.tsNsec,
      tsDigits: this.tsDigits,
      caplen: this.caplen,
      len: this.len,
      linkType: this.linkType,
      interfaceId: this.interfaceId,
      interfaceName: this.interfaceName,
      interfaceCount: this.interfaceCount,
      fileOffset: this.fileOffset,
      data,
    };
  }
}
