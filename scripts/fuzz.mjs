// npm run fuzz: the mutation fuzzer over the fixtures (nightly size: 100,000 cases).
// Every case is a mutant of a fixture capture (bit flips, byte sets, truncations, length
// fields set to 0 / 0xFFFFFFFF / odd values, block splicing), read in chunks of varying
// size, decoded, formatted as text and JSON, and correlated. It reports crashes (an exception
// that escaped, or a broken invariant), hangs (a case slower than --slow-ms three times in a row, or stuck
// for --hang-s seconds: the watchdog kills the worker and goes on), the slowest case, the
// case-time percentiles and the peak RSS. Each crash is minimised and saved under --out.
// A case is replayed from its seed and index alone: --seed S --first I --cases 1.
//
// Usage: node scripts/fuzz.mjs [--cases N] [--seed S] [--time-budget SECONDS] [--first I]
//        [--slow-ms MS] [--hang-s S] [--out DIR] [--json] [--no-minimise] [--selftest-hang I]
//        node scripts/fuzz.mjs --malformed   (rewrites fixtures/malformed/ from src/fuzz/malformed.ts,
//        its README, runs `decode` on each file and prints the measured table for docs/reliability.md)
// Exit code: 0 no crash and no hang, 1 otherwise.
import { spawnSync } from 'node:child_process';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = await import(join(root, 'dist', 'fuzz', 'index.js'));
const SEED_DIRS = ['synth', 'format', 'lab', 'public', 'malformed'].map((d) => join(root, 'fixtures', d));

/** --malformed: the crafted files, measured with the real CLI (time and peak RSS from GNU time). */
function malformedTable() {
  const { malformedCases } = lib;
  const dir = join(root, 'fixtures', 'malformed');
  mkdirSync(dir, { recursive: true });
  const cases = malformedCases();
  const readme = [
    '# Crafted malformed captures',
    '',
    'Small files, each with one fault, built from explained bytes by `src/fuzz/malformed.ts` (regenerate:',
    '`npm run build && node scripts/fuzz.mjs --malformed`). `test/malformed.test.ts` checks these bytes and runs',
    '`vxlan-inspect decode` on each: a damaged file prints the packets before the fault, one line on stderr with',
    'the byte offset, and exits 1; a valid file with a malformed frame prints every packet, the frame says',
    '`[malformed …]`, and exits 0. The fuzzer (`npm run fuzz`) also uses them as seeds.',
    '',
    '| file | fault | how it is made |',
    '|---|---|---|',
    ...cases.map((c) => `| \`${c.file}\` | ${c.fault} | ${c.how.replace(/\|/g, '\\|')} |`),
    '',
  ];
  const rows = [];
  for (const c of cases) {
    writeFileSync(join(dir, c.file), c.bytes);
    const rel = `fixtures/malformed/${c.file}`;
    const timeFile = join('/tmp', `vxi-fuzz-time-${process.pid}`);
    const t0 = performance.now();
    const r = spawnSync(
      '/usr/bin/time',
      ['-f', '%M', '-o', timeFile, process.execPath, join(root, 'dist', 'cli', 'bin.js'), 'decode', rel],
      { cwd: root, encoding: 'utf8' },
    );
    const ms = performance.now() - t0;
    const kb = Number(spawnSync('tail', ['-1', timeFile], { encoding: 'utf8' }).stdout.trim());
    const lines = r.stdout.split('\n').filter(Boolean);
    const errLines = r.stderr.split('\n').filter(Boolean);
    let says;
    if (errLines.length) says = errLines.join(' / ').replace(/^vxlan-inspect: [^:]+: /, '');
    else {
      const bad = lines.find((l) => /\[malformed|\[unknown|\[\|/.test(l)) ?? '';
      says = (bad.match(/\[(malformed|unknown|\|)[^\]]*\]/) ?? [''])[0];
    }
    rows.push(
      `| ${c.fault} | \`${c.file}\` | ${lines.length} | ${says.replace(/\|/g, '\\|')} | ${r.status} | ${Math.round(ms)} ms | ${(kb / 1024).toFixed(0)} MiB |`,
    );
  }
  writeFileSync(join(dir, 'README.md'), `${readme.join('\n')}`);
  process.stdout.write(
    [
      `| fault | file (fixtures/malformed/) | packets printed | stderr / the frame's line says | exit | time | peak RSS |`,
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} ` +
        `× ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}: ` +
        `\`node dist/cli/bin.js decode FILE\`, wall time and maximum RSS from GNU time.`,
      '',
    ].join('\n'),
  );
}

if (isMainThread && process.argv.includes('--malformed')) {
  malformedTable();
} else if (!isMainThread) {
  // The worker: runs cases from `first`, writes the running case index where the watchdog sees it.
  const { first, cases, seed, timeBudgetMs, slowMs, progress } = workerData;
  const seeds = lib.loadSeeds(SEED_DIRS);
  const running = new Int32Array(progress);
  const report = await lib.runFuzz({
    seeds,
    cases,
    seed,
    firstCase: first,
    timeBudgetMs,
    slowMs,
    onCaseStart: (i) => {
      Atomics.store(running, 0, i);
      // --selftest-hang I: case I spins forever, to show the watchdog catches a real hang
      if (i === workerData.selftestHang) for (;;);
    },
    progressEvery: 10_000,
    onProgress: (done, r) =>
      parentPort.postMessage({ progress: { done, elapsedMs: r.elapsedMs, crashes: r.crashes.length, hangs: r.hangs.length } }),
  });
  parentPort.postMessage({ report });
} else {
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const cases = Number(opt('--cases') ?? 100_000);
  const seed = Number(opt('--seed') ?? 1);
  const first = Number(opt('--first') ?? 0);
  const budgetS = opt('--time-budget') === undefined ? undefined : Number(opt('--time-budget'));
  const slowMs = Number(opt('--slow-ms') ?? 200);
  const hangS = Number(opt('--hang-s') ?? 10);
  const out = opt('--out') ?? join('/tmp', `vxi-fuzz-seed${seed}`);
  const json = args.includes('--json');
  const log = (s) => {
    if (!json) process.stderr.write(`${s}\n`);
  };
  for (const [k, v] of Object.entries({ cases, seed, first, slowMs, hangS })) {
    if (!Number.isInteger(v) || v < 0) {
      process.stderr.write(`fuzz: --${k} must be a whole number >= 0\n`);
      process.exit(2);
    }
  }
  const seeds = lib.loadSeeds(SEED_DIRS);
  log(`fuzz: ${cases} cases, seed ${seed}, ${seeds.length} seed files${budgetS ? `, time budget ${budgetS} s` : ''}`);

  const t0 = performance.now();
  const total = {
    cases: 0,
    crashes: [],
    hangs: [],
    duplicateCrashes: 0,
    damagedFiles: 0,
    malformedFrames: 0,
    packets: 0,
    slowest: undefined,
    p50: [],
    p99: [],
  };
  let next = first;
  const end = first + cases;
  // Run in a worker; a case stuck for hangS seconds is a hang: the worker is killed and a new one resumes after it.
  while (next < end) {
    const left = budgetS === undefined ? undefined : budgetS * 1000 - (performance.now() - t0);
    if (left !== undefined && left <= 0) break;
    const progress = new SharedArrayBuffer(4);
    const running = new Int32Array(progress);
    Atomics.store(running, 0, next);
    const selftestHang = opt('--selftest-hang') === undefined ? -1 : Number(opt('--selftest-hang'));
    const w = new Worker(fileURLToPath(import.meta.url), {
      workerData: { first: next, cases: end - next, seed, timeBudgetMs: left, slowMs, progress, selftestHang },
    });
    const result = await new Promise((resolve) => {
      let last = -1;
      let since = performance.now();
      const timer = setInterval(() => {
        const cur = Atomics.load(running, 0);
        if (cur !== last) {
          last = cur;
          since = performance.now();
          return;
        }
        if (performance.now() - since > hangS * 1000) {
          clearInterval(timer);
          void w.terminate().then(() => resolve({ stuck: cur }));
        }
      }, 250);
      w.on('message', (m) => {
        if (m.progress)
          log(
            `  ${m.progress.done} cases, ${(m.progress.elapsedMs / 1000).toFixed(0)} s, ${m.progress.crashes} crash(es), ${m.progress.hangs} hang(s)`,
          );
        if (m.report) {
          clearInterval(timer);
          resolve({ report: m.report });
        }
      });
      w.on('error', (err) => {
        clearInterval(timer);
        resolve({ failed: err, at: Atomics.load(running, 0) });
      });
    });
    if (result.report) {
      const r = result.report;
      total.cases += r.cases;
      total.crashes.push(...r.crashes);
      total.hangs.push(...r.hangs);
      total.duplicateCrashes += r.duplicateCrashes;
      total.damagedFiles += r.damagedFiles;
      total.malformedFrames += r.malformedFrames;
      total.packets += r.packets;
      if (r.slowest && (!total.slowest || r.slowest.ms > total.slowest.ms)) total.slowest = r.slowest;
      total.p50.push([r.p50Ms, r.cases]);
      total.p99.push([r.p99Ms, r.cases]);
      break;
    }
    const at = result.stuck ?? result.at;
    const c = lib.makeCase(seeds, seed, at);
    const what =
      result.stuck !== undefined
        ? { where: 'hang', message: `case still running after ${hangS} s` }
        : { where: 'worker', message: String(result.failed?.stack ?? result.failed) };
    (result.stuck !== undefined ? total.hangs : total.crashes).push({
      caseIndex: at,
      seedName: c.seedName,
      ops: c.ops,
      bytes: c.bytes,
      outcome: { crash: what, ms: hangS * 1000 },
    });
    total.cases += at - next + 1;
    next = at + 1;
  }
  const elapsedMs = performance.now() - t0;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // Minimise and save every finding.
  const saved = [];
  if (total.crashes.length || total.hangs.length) mkdirSync(out, { recursive: true });
  for (const f of [...total.crashes, ...total.hangs]) {
    let bytes = f.bytes;
    const c = lib.makeCase(seeds, seed, f.caseIndex);
    if (!args.includes('--no-minimise') && f.outcome.crash && f.outcome.crash.where !== 'hang' && f.outcome.crash.where !== 'worker') {
      const sig = lib.crashSignature(f.outcome);
      bytes = await lib.minimise(bytes, async (b) => lib.crashSignature(await lib.runCase(b, { chunkSizes: c.chunkSizes })) === sig);
    }
    const base = join(out, `${f.seedName.replace(/[^\w.-]+/g, '_')}-case${f.caseIndex}`);
    writeFileSync(`${base}.bin`, bytes);
    writeFileSync(
      `${base}.txt`,
      `seed ${seed} case ${f.caseIndex} from ${f.seedName}\n${f.ops.join('\n')}\n` +
        `${f.outcome.crash?.where ?? 'slow'}: ${f.outcome.crash?.message ?? `${f.outcome.ms.toFixed(1)} ms`}\n` +
        `${f.outcome.crash?.stack ?? ''}\n`,
    );
    saved.push({
      file: `${base}.bin`,
      bytes: bytes.length,
      caseIndex: f.caseIndex,
      where: f.outcome.crash?.where ?? 'slow',
      message: f.outcome.crash?.message ?? `${f.outcome.ms.toFixed(1)} ms`,
    });
  }
  const weighted = (list) => {
    const n = list.reduce((a, [, k]) => a + k, 0);
    return n ? list.reduce((a, [v, k]) => a + v * k, 0) / n : 0;
  };
  const summary = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
    seed,
    cases: total.cases,
    seedFiles: seeds.length,
    crashes: total.crashes.length,
    duplicateCrashes: total.duplicateCrashes,
    hangs: total.hangs.length,
    damagedFiles: total.damagedFiles,
    malformedFrames: total.malformedFrames,
    packets: total.packets,
    elapsedS: +(elapsedMs / 1000).toFixed(1),
    casesPerS: Math.round(total.cases / (elapsedMs / 1000)),
    p50Ms: +weighted(total.p50).toFixed(2),
    p99Ms: +weighted(total.p99).toFixed(2),
    slowest: total.slowest && {
      caseIndex: total.slowest.caseIndex,
      seedFile: total.slowest.seedName,
      ms: +total.slowest.ms.toFixed(1),
      ops: total.slowest.ops,
    },
    peakRssMb: Math.round(peakRssMb),
    findings: saved,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const lines = [
      `cases           ${summary.cases} (seed ${seed}, ${summary.seedFiles} seed files) in ${summary.elapsedS} s, ${summary.casesPerS} cases/s`,
      `crashes         ${summary.crashes}${summary.duplicateCrashes ? ` (+${summary.duplicateCrashes} duplicates)` : ''}`,
      `hangs           ${summary.hangs} (a case over ${slowMs} ms three times, or stuck ${hangS} s)`,
      `case time       p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, ` +
        `slowest ${summary.slowest?.ms ?? 0} ms ` +
        `(case ${summary.slowest?.caseIndex}, ${summary.slowest?.seedFile})`,
      `peak RSS        ${summary.peakRssMb} MiB`,
      `outcomes        ${summary.damagedFiles} files reported damaged ` +
        `(with a byte offset), ${summary.malformedFrames} frames [malformed], ${summary.packets} ` +
        'packets decoded',
      `machine         ${summary.machine}, ${summary.date}`,
    ];
    for (const s of saved)
      lines.push(`finding         case ${s.caseIndex}: ${s.where}: ${s.message.split('\n')[0]} -> ${s.file} (${s.bytes} bytes)`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.exitCode = total.crashes.length || total.hangs.length ? 1 : 0;
}
