/** The contract between the streaming parser (parser.ts) and a format decoder (pcap.ts, pcapng.ts). */
import type { RecordView } from './record-view.js';
import type { CaptureInterface } from './types.js';

/** `step` return values other than a positive count of consumed bytes. */
export const NEED_MORE = 0;
export const SKIP = -1;

/**
 * A decoder reads one unit (file header, record or block) at `pos`, in place.
 * `step` returns:
 *  - n > 0: the unit was n bytes long and is consumed; `hasRecord` says whether it was a packet,
 *    then written into `view` (over `buf`: the caller reads it before the next step);
 *  - NEED_MORE: fewer than `need` bytes are available from `pos` (`need` is validated, safe to allocate);
 *  - SKIP: a block of `skipLength` bytes (starting at `pos`) is to be skipped without buffering;
 *    the decoder then expects that block's 4-byte trailing length as its next unit.
 * Damaged input throws CaptureFormatError (with the unit's absolute offset).
 * `base` is the absolute input offset of buf[0].
 */
export interface RecordDecoder {
  /** Whether the unit the last step consumed was a packet (then in `view`). */
  hasRecord: boolean;
  /** The record of the last packet, overwritten by the next one. */
  readonly view: RecordView;
  need: number;
  skipLength: number;
  readonly interfaces: CaptureInterface[];
  step(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number): number;
}

/** Reports a non-fatal oddity; the text is only built while warnings are still being kept. */
export type Warn = (message: () => string) => void;
