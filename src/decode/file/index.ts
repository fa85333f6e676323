/** Capture files: streaming pcap/pcapng reading and writing. */
export { CaptureParser } from './parser.js';
export { readCapture, readRecordViews, packets, parseChunks, type CaptureSource, type ReadOptions } from './read.js';
export { RecordView } from './record-view.js';
export {
  walkRecordBytes,
  walkRecordFile,
  RecordWalker,
  captureByteOrder,
  recordLength,
  type RecordHeader,
  type RecordKind,
  type RecordWalkEnd,
  type RecordVisitor,
} from './records.js';
export {
  PcapWriter,
  PcapngWriter,
  concatBytes,
  type PcapWriterOptions,
  type PcapngWriterOptions,
  type PcapngInterfaceOptions,
} from './writer.js';
export {
  MAX_CAPLEN,
  MAX_BLOCK,
  MAX_INTERFACES,
  MAX_WARNINGS,
  type CaptureFormat,
  type CaptureInterface,
  type ReadSummary,
  type PacketToWrite,
} from './types.js';
