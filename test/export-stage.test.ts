/**
 * The export's staging (src/export/stage.ts) on rows written by hand: a flow that got two
 * numbers (its table started afresh past the cap) is one flow row again, and the packet rows
 * keep file order whatever order they were staged in.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { PK, Stage } from '../src/export/stage.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-export-stage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    return (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** Stages 4 underlay packets, staged out of file order, whose outer flow has numbers 0 and 1 (one text). */
async function stageTwoNumbers(name: string, renumbered: boolean): Promise<{ packets: string; flows: string; flowRows: number }> {
  const out = path.join(tmp, name);
  mkdirSync(out);
  const stage = await Stage.open(mkdtempSync(path.join(tmp, `${name}-stage-`)));
  try {
    const flow = {
      ipVersion: 4 as const,
      src: '192.168.100.11',
      dst: '192.168.100.12',
      proto: 17,
      sport: 40000,
      dport: 4789,
      communityId: '1:same',
    };
    stage.addFlow({ id: 0, ...flow });
    stage.addFlow({ id: 1, ...flow });
    const P = stage.packets;
    for (const n of [3, 1, 4, 2]) {
      const i = P.at;
      const row: Record<keyof typeof PK, number> = {
        src: 0,
        n,
        frame: n,
        sec: 1_764_200_000,
        usec: n,
        wireLen: 100,
        capLen: 100,
        vni: 10,
        codes: 1,
        outerFlow: n <= 2 ? 0 : 1,
        innerFlow: -1,
        link: -1,
        ethertype: -1,
      };
      for (const [k, j] of Object.entries(PK)) P.col(j)[i] = row[k as keyof typeof PK];
      P.next();
    }
    await stage.addSources([
      { id: 0, node: 'kvm1', side: 'underlay', interface: 'eth1', file: 'kvm1-eth1.pcap', paired: false, split: false },
    ]);
    await stage.addLabels(new Map([['VXLAN', 0]]));
    const w = await stage.write(out, { capture: 'c', anySplit: false, dedupe: false, renumbered });
    return { packets: w.packets, flows: w.flows, flowRows: w.flowRows };
  } finally {
    stage.close();
  }
}

describe('Stage', () => {
  it('folds the numbers of one flow into one flow row when a table started afresh', async () => {
    const w = await stageTwoNumbers('renumbered', true);
    expect(w.flowRows).toBe(1);
    expect(
      await rows(
        'SELECT outer_src, outer_community_id, packets::INTEGER AS packets, bytes::INTEGER AS bytes, ' +
          '(epoch_us(first) - 1764200000000000)::INTEGER AS first, (epoch_us(last) ' +
          `- 1764200000000000)::INTEGER AS last FROM '${w.flows}'`,
      ),
    ).toEqual([{ outer_src: '192.168.100.11', outer_community_id: '1:same', packets: 4, bytes: 400, first: 1, last: 4 }]);
    // without the flag the rows are grouped by number (what an export that never restarted needs)
    expect((await stageTwoNumbers('numbered', false)).flowRows).toBe(2);
  });

  it('writes packet rows in file order, their text columns as plain strings', async () => {
    const w = await stageTwoNumbers('order', false);
    expect(await rows(`SELECT n::INTEGER AS n, node, side, tunnel, outer_dst FROM '${w.packets}'`)).toEqual(
      [1, 2, 3, 4].map((n) => ({ n, node: 'kvm1', side: 'underlay', tunnel: 'vxlan', outer_dst: '192.168.100.12' })),
    );
    const types = await rows(
      `SELECT column_name AS c, column_type AS t FROM (DESCRIBE SELECT node, tunnel, outer_src, protocol FROM '${w.packets}')`,
    );
    expect(types.map((r) => r.t)).toEqual(['VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR']);
  });
});
