import { describe, expect, it } from 'vitest';
import type { FrameView, LayerView } from '../api-types.js';
import {
  bytesOf,
  encapsulationLine,
  fieldRow,
  hexBytes,
  layerOpen,
  layerSubtitle,
  layerTitle,
  mirrorRange,
  segmentLabel,
  segmentTitle,
  segmentsOf,
} from './detail-data.js';

const layer = (type: string, name: string, offset: number, length: number, depth = 0, describe = ''): LayerView => ({
  type,
  name,
  offset,
  length,
  depth,
  describe,
  note: '',
  fields: [],
});

/** An underlay VXLAN packet carrying an ARP request: 50 bytes of outer headers, 42 of inner frame. */
const tunnelled: FrameView = {
  len: 92,
  caplen: 92,
  truncated: false,
  warnings: [],
  error: null,
  tunnelled: true,
  layers: [
    layer('eth', 'Ethernet', 0, 14),
    layer('ipv4', 'IPv4', 14, 20),
    layer('udp', 'UDP', 34, 8),
    layer('vxlan', 'VXLAN', 42, 8, 0, ' · VNI 10'),
    layer('eth', 'Ethernet', 50, 14, 1),
    layer('arp', 'ARP', 64, 28, 1),
  ],
};
/** An ICMP echo with 8 bytes of data after its header. */
const plain: FrameView = {
  len: 50,
  caplen: 50,
  truncated: false,
  warnings: [],
  error: null,
  tunnelled: false,
  layers: [layer('eth', 'Ethernet', 0, 14), layer('ipv4', 'IPv4', 14, 20), layer('icmp', 'ICMP', 34, 8)],
};

describe('what the packet detail draws', () => {
  it('bytes from the hex text, and back', () => {
    const b = bytesOf('08000000' + '00000a00');
    expect(Array.from(b)).toEqual([8, 0, 0, 0, 0, 0, 10, 0]);
    expect(hexBytes(b, 4, 6)).toBe('00 00 0a');
    expect(hexBytes(b, 6, 20)).toBe('0a 00');
  });

  it('the layer bar: one segment per layer, the payload after the last', () => {
    expect(segmentsOf(tunnelled, 92).map((s) => [segmentLabel(s), s.from, s.to])).toEqual([
      ['Ethernet', 0, 13],
      ['IPv4', 14, 33],
      ['UDP', 34, 41],
      ['VXLAN', 42, 49],
      ['inner Ethernet', 50, 63],
      ['inner ARP', 64, 91],
    ]);
    const segs = segmentsOf(plain, 50);
    expect(segs.at(-1)).toMatchObject({ index: 3, type: 'payload', name: 'Payload', from: 42, to: 49 });
    expect(segmentTitle(segs[1]!)).toBe('IPv4: bytes 14–33 (20)');
    expect(segmentTitle(segmentsOf(tunnelled, 92)[4]!)).toBe('Ethernet (inner): bytes 50–63 (14)');
  });

  it('titles and which layers open first', () => {
    expect(layerTitle(tunnelled.layers[1]!, true)).toBe('Outer IPv4');
    expect(layerTitle(tunnelled.layers[4]!, true)).toBe('Inner Ethernet');
    expect(layerTitle(plain.layers[2]!, false)).toBe('ICMP');
    expect(layerSubtitle(tunnelled.layers[3]!)).toBe(' — bytes 42–49 (8) · VNI 10');
    expect(tunnelled.layers.map((_, i) => layerOpen(tunnelled, i))).toEqual([false, false, false, true, false, false]);
    expect(plain.layers.map((_, i) => layerOpen(plain, i))).toEqual([true, false, true]);
  });

  it('a field row: its range, and its bytes when short', () => {
    const bytes = bytesOf('00'.repeat(42) + '0800000000000a00');
    expect(fieldRow({ name: 'VNI', offset: 46, length: 3, value: '0x00000a = 10', explain: 'x' }, bytes)).toEqual({
      from: 46,
      to: 48,
      range: '46–48',
      name: 'VNI',
      value: '0x00000a = 10',
      explain: 'x',
      hex: '00 00 0a',
    });
    expect(fieldRow({ name: 'Flags', offset: 42, length: 1, value: '0x08', explain: '' }, bytes)).toMatchObject({ range: '42', hex: '08' });
    expect(fieldRow({ name: 'Source', offset: 8, length: 16, value: '::', explain: '' }, bytes).hex).toBe('');
  });

  it('the encapsulation line and the mirrored bytes', () => {
    expect(encapsulationLine(tunnelled, 92)).toBe('Encapsulation: 50 bytes of outer headers around a 42-byte inner frame.');
    expect(encapsulationLine(plain, 50)).toBeUndefined();
    // the bridge frame's Ethernet header (0–13) is bytes 50–63 of the underlay packet
    expect(mirrorRange(true, 0, 13, 50)).toEqual({ from: 50, to: 63 });
    expect(mirrorRange(false, 64, 91, 50)).toEqual({ from: 14, to: 41 });
    // outer headers have no counterpart in the bridge frame
    expect(mirrorRange(false, 42, 49, 50)).toBeUndefined();
  });
});
