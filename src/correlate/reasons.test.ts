import { describe, expect, it } from 'vitest';
import { ethernet, ipv6 } from '../synth/frames.js';
import { DEVICE_MAC, mldReport, multicastEcho, neighbourSolicitation, routerSolicitation } from '../../test/helpers/vxlan-device.js';
import { overlayReason, underlayReason, vxlanDeviceTraffic } from './reasons.js';
import { arpWhoHas, KVM1, ping } from './synth.js';

describe('vxlanDeviceTraffic: what the VXLAN interface sends by itself, from the frame bytes', () => {
  it('recognises MLD reports (v2 and v1, behind Hop-by-Hop), router solicitations and DAD', () => {
    expect(vxlanDeviceTraffic(mldReport())).toBe('mld-report');
    expect(vxlanDeviceTraffic(mldReport({ src: '::' }))).toBe('mld-report');
    expect(vxlanDeviceTraffic(mldReport({ v1: true }))).toBe('mld-report');
    expect(vxlanDeviceTraffic(routerSolicitation())).toBe('router-solicitation');
    expect(vxlanDeviceTraffic(neighbourSolicitation('::'))).toBe('dad');
  });

  it('does not take other frames for it', () => {
    expect(vxlanDeviceTraffic(neighbourSolicitation('fe80::1'))).toBeUndefined(); // address resolution, not DAD
    expect(vxlanDeviceTraffic(multicastEcho())).toBeUndefined();
    expect(vxlanDeviceTraffic(arpWhoHas())).toBeUndefined();
    expect(vxlanDeviceTraffic(ping(1))).toBeUndefined();
    // an RS to a unicast MAC, and an MLD report whose IPv6 header was cut by the snaplen
    const rs = routerSolicitation();
    expect(vxlanDeviceTraffic(ethernet('52:54:00:00:00:01', DEVICE_MAC, 0x86dd, rs.subarray(14)))).toBeUndefined();
    expect(vxlanDeviceTraffic(mldReport().subarray(0, 60))).toBeUndefined();
    expect(vxlanDeviceTraffic(new Uint8Array(0))).toBeUndefined();
    // not IPv6 (IPv4 ethertype with IPv6 bytes)
    expect(
      vxlanDeviceTraffic(
        ethernet(
          '33:33:00:00:00:02',
          DEVICE_MAC,
          0x0800,
          ipv6({ src: 'fe80::1', dst: 'ff02::2', nextHeader: 58 }, Uint8Array.from([133, 0, 0, 0, 0, 0, 0, 0])),
        ),
      ),
    ).toBeUndefined();
  });

  it('says the device traffic is normal and names what it was', () => {
    const text = underlayReason('from-vxlan-device', { vtep: KVM1, own: 'router-solicitation' });
    expect(text).toContain(`VTEP ${KVM1}`);
    expect(text).toContain('router solicitation');
    expect(text).toContain('normal');
  });

  it('says a destination behind the local VTEP is on this node, and only then', () => {
    const mac = 0x664c82e5bd80;
    expect(overlayReason('local', { mac, vtep: KVM1 })).toBe(
      `dst MAC 66:4c:82:e5:bd:80 is behind this node's VTEP ${KVM1}: ` +
        'the destination is on this node (guest ↔ bridge, or between local guests), ' +
        'so the frame does not enter the tunnel',
    );
    expect(overlayReason('local', { mac })).toContain('dst MAC 66:4c:82:e5:bd:80 is not behind any VTEP seen on the underlay');
  });
});
