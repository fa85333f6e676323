/**
 * The public surface (src/index.ts): what README's API promises is exported, from one entry point,
 * and the CLI and the web server are users of it.
 */
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const PROMISED = [
  // errors
  'VxiError',
  'UsageError',
  'CaptureFormatError',
  'PrerequisiteError',
  'isVxiError',
  // reading and decoding
  'CaptureParser',
  'readCapture',
  'packets',
  'PcapWriter',
  'PcapngWriter',
  'decodePacket',
  'decodeCapture',
  'createRegistry',
  'defaultRegistry',
  'DecoderRegistry',
  'LINKTYPE',
  'packetToJson',
  'packetToJsonLine',
  'layerToJson',
  'packetToText',
  'summarizeLayers',
  'formatMac',
  'formatIPv4',
  'formatIPv6',
  'formatEpoch',
  'TUNNEL_TYPES',
  // analysis
  'StatsCollector',
  'collectStats',
  'decodeInParallel',
  'Correlator',
  'correlateFiles',
  'TopologyBuilder',
  'Diagnostics',
  // remote work
  'loadInventory',
  'resolveNode',
  'RemoteSession',
  'SessionPool',
  'provision',
  'teardown',
  'runChecks',
  'startCapture',
  // lab and web
  'labUp',
  'labDown',
  'labStatus',
  'labTraffic',
  'netnsExec',
  'labPreflight',
  'createApp',
  'startServer',
  'CaptureStore',
];

describe('public API', () => {
  it.each(PROMISED)('exports %s', (name) => {
    expect(api).toHaveProperty(name);
    expect((api as Record<string, unknown>)[name]).toBeDefined();
  });

  it('has no default export', () => {
    expect(api).not.toHaveProperty('default');
  });
});
