/**
 * `lab traffic` and `lab record` take --duration like `capture` and `demo` do (10s, 500ms, 2m, or a
 * plain number of seconds), through the one parser in src/capture/duration.ts. The commands are
 * parsed for real and stopped before their action (which needs root and a lab).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from './main.js';

class Parsed extends Error {
  constructor(readonly opts: Record<string, unknown>) {
    super('parsed');
  }
}

/** The options `lab …` would run with, without running it. */
async function labOptions(args: string[]): Promise<Record<string, unknown>> {
  const argv = ['lab', ...args];
  const io = { stdout: new PassThrough(), stderr: new PassThrough() };
  const program = await buildProgram(io, argv);
  program.hook('preAction', (_root, action) => {
    throw new Parsed(action.opts());
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof Parsed) return e.opts;
    throw e;
  }
  throw new Error('the action was not reached');
}

async function usage(args: string[]): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const code = await main(['lab', ...args], { stdout: new PassThrough(), stderr });
  return { code, stderr: text };
}

describe('lab --duration', () => {
  it.each([
    ['10s', 10],
    ['10', 10],
    ['1.5', 1.5],
    ['500ms', 0.5],
    ['2m', 120],
  ])('lab traffic --duration %s is %d s, as capture and demo read it', async (text, sec) => {
    expect((await labOptions(['traffic', '--duration', text])).duration).toBe(sec);
  });

  it('lab record --duration takes the same times', async () => {
    expect((await labOptions(['record', '--out', '/tmp/vxi-never-written', '--duration', '3s'])).duration).toBe(3);
    expect((await labOptions(['record', '--out', '/tmp/vxi-never-written', '--duration', '1m'])).duration).toBe(60);
  });

  it('keeps the defaults: 5 s of traffic, 3 s for record', async () => {
    expect((await labOptions(['traffic'])).duration).toBe(5);
    expect((await labOptions(['record', '--out', '/tmp/vxi-never-written'])).duration).toBe(3);
  });

  it('refuses what capture refuses, with the same words, and more than 10 minutes', async () => {
    expect(await usage(['traffic', '--duration', 'ten'])).toEqual({
      code: 2,
      stderr: 'vxlan-inspect: --duration must be a time like 10s, 500ms, 2m or 1h, not "ten"\n',
    });
    expect(await usage(['traffic', '--duration', '0s'])).toEqual({
      code: 2,
      stderr: 'vxlan-inspect: --duration must be more than 0, not "0s"\n',
    });
    expect(await usage(['record', '--out', '/tmp/vxi-never-written', '--duration', '11m'])).toEqual({
      code: 2,
      stderr: 'vxlan-inspect: --duration must be at most 10m (600 s) for the lab, not "11m"\n',
    });
  });
});
