/**
 * `vxlan-inspect lab up|down|status|traffic|exec|record|break|fix`: the namespace lab from the command
 * line. Every subcommand takes --prefix (default vxi-) and, where files are involved, --dir
 * (default .lab/<prefix without its trailing dash> in the working directory, e.g. .lab/vxi).
 */
import { spawn } from 'node:child_process';
import { rmdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../capture/duration.js';
import { UsageError } from '../errors.js';
import {
  LAB_BREAK_KINDS,
  LabError,
  assertLabPrerequisites,
  defaultBreakNode,
  isBreakKind,
  labBreak,
  labFix,
  labDown,
  labRecord,
  labStatus,
  labTraffic,
  labUp,
  netnsExec,
  type BreakRecord,
  type LabHandle,
  type LabStatus,
  type TrafficSummary,
} from '../lab/index.js';
import { commandLine } from '../lab/run.js';
import {
  DEFAULT_PREFIX,
  GUESTS,
  LAB_ROLES,
  OVERLAY,
  checkPrefix,
  defaultLabDir,
  isLabRole,
  labGroupPrefix,
  netnsName,
} from '../lab/topology.js';
import {
  classLabDown,
  classLabStatus,
  classLabUp,
  isClassLab,
  knownGroups,
  resolveLabGroup,
  MAX_LAB_GROUPS,
  type ClassLabHandle,
  type ClassLabStatus,
} from '../class/lab.js';
import { parseIntInRange } from './options.js';
import type { CliIo } from './main.js';

interface CommonOpts {
  prefix: string;
  dir?: string;
}

function resolveCommon(o: CommonOpts): { prefix: string; dir: string } {
  const prefix = checkPrefix(o.prefix);
  return { prefix, dir: o.dir ?? defaultLabDir(prefix) };
}

/** With `--group G` of a class lab, that group's own prefix and folder; without, the lab's. */
async function resolveGroup(o: CommonOpts & { group?: string }): Promise<{ prefix: string; dir: string }> {
  const c = resolveCommon(o);
  if (o.group === undefined) return c;
  const g = await resolveLabGroup(c.prefix, c.dir, o.group);
  return { prefix: g.prefix, dir: g.dir };
}

/** The prefixes of the named groups (`all`: every group) of a class lab. */
async function groupPrefixes(prefix: string, dir: string, groups: readonly string[]): Promise<string[]> {
  if (groups.includes('all')) return (await knownGroups(prefix, dir)).map((n) => labGroupPrefix(prefix, n));
  return [...new Set(await Promise.all(groups.map(async (g) => (await resolveLabGroup(prefix, dir, g)).prefix)))];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The lab plays traffic for at most 10 minutes. */
const MAX_LAB_DURATION_SEC = 600;

/** --duration as `capture` and `demo` read it (10s, 500ms, 2m; a plain number is seconds), at most 10 minutes. */
function labDuration(v: string): number {
  const sec = parseDuration(v, '--duration');
  if (sec > MAX_LAB_DURATION_SEC)
    throw new UsageError(`--duration must be at most 10m (${MAX_LAB_DURATION_SEC} s) for the lab, not ${JSON.stringify(v)}`);
  return sec;
}

/** ` --prefix P` when P is not the default, for printed command lines. */
function prefixFlag(prefix: string): string {
  return prefix === DEFAULT_PREFIX ? '' : ` --prefix ${prefix}`;
}

export function describeUp(h: LabHandle, provisioned: boolean): string {
  const pad = (s: string): string => s.padEnd(h.prefix.length + 9);
  const fe = h.frontendNetns;
  const lines = [
    `lab '${h.prefix}' is up` +
      (provisioned
        ? `, provisioned: ${OVERLAY.vxlanIf} (VNI ${OVERLAY.vni}, UDP ${OVERLAY.port}) in ${OVERLAY.bridge} on both nodes, ` +
          'vm1 pings vm2 across it'
        : ', not provisioned (no overlay yet)'),
    `  ${pad(netnsName(h.prefix, 'lan'))}bridge 'lan': the underlay switch`,
    `  ${pad(fe)}eth1 10.3.1.250/24`,
    ...h.nodes.map(
      (n) =>
        `  ${pad(n.netns)}eth1 ${n.host}/24, sshd on ${n.host}:${n.sshPort}${provisioned ? `, ${OVERLAY.bridge} ${n.bridgeAddress}` : ''}`,
    ),
    ...h.guests.map(
      (g) => `  ${pad(g.netns)}eth0 ${g.address} on ${GUESTS.find((x) => x.name === g.name)?.node ?? '?'} (MTU ${OVERLAY.mtu})`,
    ),
    `inventory: ${h.inventoryPath}`,
    'lab addresses exist only inside the lab namespaces: run what talks to them there, e.g.',
  ];
  if (!provisioned) {
    lines.push(
      `  ip netns exec ${fe} npx vxlan-inspect provision kvm1 kvm2 --inventory ${h.inventoryPath}`,
      `  then plug the guests into the bridges: vxlan-inspect lab exec${prefixFlag(h.prefix)} kvm1 -- ip link set vm1 master ${OVERLAY.bridge} (and kvm2 vm2)`,
    );
  }
  lines.push(
    `  ip netns exec ${fe} npx vxlan-inspect check kvm1 kvm2 --inventory ${h.inventoryPath}`,
    `  ip netns exec ${fe} npx vxlan-inspect capture kvm1 --inventory ${h.inventoryPath}`,
    `  ip netns exec ${fe} ssh -i ${h.dir}/id_ed25519 -o UserKnownHostsFile=${h.dir}/known_hosts root@${h.nodes[0]?.host ?? '10.3.1.156'}`,
    `  vxlan-inspect lab exec${prefixFlag(h.prefix)} vm1 -- ping -c 3 10.220.220.6`,
    `  vxlan-inspect lab traffic${prefixFlag(h.prefix)}`,
    `  vxlan-inspect lab down${prefixFlag(h.prefix)}${h.dir === defaultLabDir(h.prefix) ? '' : ` --dir ${h.dir}`}`,
  );
  return `${lines.join('\n')}\n`;
}

export function describeClassUp(h: ClassLabHandle): string {
  const fe = h.frontendNetns;
  const first = h.groups[0];
  const last = h.groups[h.groups.length - 1];
  const lines = [
    `class lab '${h.prefix}' is up: ${h.groups.length} ` +
      `group(s) ${first?.name ?? ''}…${last?.name ?? ''}, each a lab of its own ` +
      `(${first?.prefix ?? ''}kvm1, ` +
      `…)${h.provisioned ? `, provisioned: ${OVERLAY.vxlanIf} (VNI ${OVERLAY.vni}) in every group, vm1 pings vm2 across it` : ', not provisioned'}`,
    ...h.groups.map((g) => `  ${g.name}  ${g.handle.nodes.map((n) => `${n.name} ${n.host}`).join(', ')}  (${g.prefix}*, ${g.dir})`),
    `  ${fe}  the class frontend: ${h.groups.length} leg(s) gNN 10.3.N.254/24, one into each group's underlay (it does not forward between them)`,
    `class inventory: ${h.classInventoryPath}`,
    'lab addresses exist only inside the lab namespaces: run what talks to them there, e.g.',
    `  ip netns exec ${fe} npx vxlan-inspect check --class ${h.classInventoryPath}`,
    `  ip netns exec ${fe} npx vxlan-inspect capture --class ${h.classInventoryPath} --duration 10s --out class-capture`,
    `  vxlan-inspect lab break vni --group ${first?.name ?? 'g01'}${prefixFlag(h.prefix)}`,
    `  vxlan-inspect lab traffic --group all${prefixFlag(h.prefix)}`,
    `  vxlan-inspect lab down${prefixFlag(h.prefix)}${h.dir === defaultLabDir(h.prefix) ? '' : ` --dir ${h.dir}`}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function describeClassStatus(c: ClassLabStatus): string {
  const lines = [
    `class lab '${c.prefix}': ${c.groups.length} group(s); ` +
      `class frontend ${c.frontendNetns} ${c.frontendExists ? 'exists' : 'missing'}; ` +
      `class inventory ${c.classInventoryPath ?? 'none'}`,
  ];
  for (const g of c.groups) {
    const s = g.status;
    const sshd = s.nodes.filter((n) => n.sshd.running).length;
    const reach = g.fromClassFrontend.filter((r) => r.ok).length;
    const overlay = s.reachability.find((r) => r.path === 'overlay');
    const fault = s.activeBreak ? `, fault: ${s.activeBreak.kind} on ${s.activeBreak.node}` : '';
    lines.push(
      `  ${g.name}  ${s.up ? 'up' : s.namespaces.some((n) => n.exists) ? 'partly there' : 'not there'}${s.provisioned ? ', provisioned' : ''}, ` +
        `sshd ${sshd}/${s.nodes.length}, ` +
        `from the class frontend ${reach}/${g.fromClassFrontend.length} nodes answer, vm1 → vm2 ${overlay?.ok ? 'ok' : 'fails'}${fault}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function describeStatus(s: LabStatus): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines = [
    `lab '${s.prefix}': ${s.up ? 'up' : s.namespaces.some((n) => n.exists) ? 'partly there' : 'not there'}` +
      (s.up ? (s.provisioned ? ', provisioned' : ', not provisioned') : ''),
  ];
  for (const n of s.namespaces)
    lines.push(
      `  ${n.netns.padEnd(s.prefix.length + 9)}` +
        (n.exists ? `exists, ${n.pids.length} process(es)${n.pids.length ? ` [${n.pids.join(' ')}]` : ''}` : 'missing'),
    );
  for (const n of s.nodes) {
    lines.push(
      `  ${n.name}: sshd ${n.sshd.running ? `running (pid ${n.sshd.pid})` : 'not running'}, listening on :22 ${yes(n.sshd.listening)}; ` +
        `${OVERLAY.bridge} ${yes(n.overlay.bridge)}, ${OVERLAY.vxlanIf} ${yes(n.overlay.vxlan)}, guest in bridge ${yes(n.overlay.guestAttached)}`,
    );
  }
  for (const r of s.reachability) lines.push(`  ${r.ok ? 'reachable  ' : 'unreachable'} ${r.from} → ${r.to} (${r.address}, ${r.path})`);
  lines.push(`  inventory: ${s.inventoryPath ?? 'none'}`);
  if (s.activeBreak)
    lines.push(
      `  active fault: ${s.activeBreak.kind} on ${s.activeBreak.node} ` +
        `since ${s.activeBreak.at}: ${s.activeBreak.summary} (undo: ` +
        `vxlan-inspect lab fix${prefixFlag(s.prefix)})`,
    );
  else if (s.breakProblem) lines.push(`  active fault: unknown: ${s.breakProblem}`);
  else if (s.dir !== null) lines.push('  active fault: none');
  return `${lines.join('\n')}\n`;
}

export function describeTraffic(t: TrafficSummary): string {
  const lines = [
    `lab traffic '${t.prefix}': ${t.steps.length} steps in ${(t.elapsedMs / 1000).toFixed(1)} ` +
      `s${t.fillerPings ? ` (+${t.fillerPings} filler pings vm1 → vm2)` : ''}`,
  ];
  const w = Math.max(...t.steps.map((s) => s.name.length));
  for (const s of t.steps) {
    lines.push(
      `  ${s.ok ? 'ok  ' : 'FAIL'} ${`${s.from} → ${s.to}`.padEnd(27)} ${(s.overlay ? 'overlay' : 'local').padEnd(8)}${s.name.padEnd(w + 2)}${s.detail}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** What `lab break` tells the teacher: the fault, and how students would see it. */
export function describeBreak(r: BreakRecord): string {
  return `lab break ${r.kind}: ${r.summary}\n  recorded what was there; undo with: vxlan-inspect lab fix${prefixFlag(r.prefix)}\n`;
}

const KIND_HELP: Record<(typeof LAB_BREAK_KINDS)[number], string> = {
  mtu: 'guest, bridge and vxlan10 at MTU 1500 over an underlay of 1500',
  vni: "the node's vxlan10 on another VNI",
  port: "the node's vxlan10 on UDP 8472",
  fdb: 'the flood entry toward the peer removed',
  'stale-fdb': "a static entry for the peer guest's MAC to a host that is no VTEP",
  drop: 'incoming UDP 4789 dropped (nftables)',
  multicast: 'another multicast group (lab provisioned with --multicast)',
  offload: "tx checksum offload back on for the sender's eth1 and guest eth0: bad checksums on its own captures, nothing lost",
};

export function registerLab(program: Command, io: CliIo): void {
  const lab = program
    .command('lab')
    .description('the class topology (frontend, kvm1, kvm2, two guests, VXLAN) in network namespaces on this machine; needs root');
  lab.addHelpText(
    'after',
    '\nExamples:\n  sudo vxlan-inspect lab up --provisioned\n  sudo vxlan-inspect lab traffic ' +
      '--duration 10s\n  sudo vxlan-inspect lab exec vm1 -- ping -c 3 10.220.220.6\n  sudo ' +
      'vxlan-inspect lab down\n',
  );
  const withPrefix = (c: Command): Command => c.option('--prefix <prefix>', 'namespace name prefix', DEFAULT_PREFIX);
  const withDir = (c: Command): Command =>
    c.option('--dir <dir>', 'where keys, sshd configs, pid files and inventory.yaml live (default .lab/<prefix> in the working directory)');

  withDir(withPrefix(lab.command('up')))
    .description('build the lab: namespaces, underlay, guests, two sshd, DIR/inventory.yaml')
    .option('--provisioned', 'also build the overlay (vxlan_bridge + vxlan10 on both nodes) and check vm1 → vm2')
    .option(
      '--groups <n>',
      'a class of N groups: N copies of the lab (PREFIX + gNN-…, underlay 10.3.N.0/24), ' +
        `one class frontend (PREFIX + frontend) reaching them all, DIR/class.yaml (1-${MAX_LAB_GROUPS})`,
      parseIntInRange('--groups', 1, MAX_LAB_GROUPS),
    )
    .action(async (o: CommonOpts & { provisioned?: boolean; groups?: number }) => {
      const { prefix, dir } = resolveCommon(o);
      if (o.groups !== undefined) {
        io.stdout.write(describeClassUp(await classLabUp({ prefix, dir, groups: o.groups, provisioned: o.provisioned === true })));
        return;
      }
      const h = await labUp({ prefix, dir, provisioned: o.provisioned === true });
      io.stdout.write(describeUp(h, o.provisioned === true));
    });

  withDir(withPrefix(lab.command('down')))
    .description('remove every namespace, process and file of the lab (safe to run twice)')
    .action(async (o: CommonOpts) => {
      const { prefix, dir } = resolveCommon(o);
      await assertLabPrerequisites('namespaces');
      if (await isClassLab(prefix, dir)) await classLabDown({ prefix, dir });
      else await labDown({ prefix, dir });
      if (o.dir === undefined) {
        try {
          rmdirSync(path.dirname(dir)); // the default .lab, when no other lab uses it
        } catch {
          /* other labs' directories, or already gone */
        }
      }
      io.stdout.write(`lab '${prefix}' is down: no ${prefix}* namespace, no lab process, ${dir} cleaned\n`);
    });

  withDir(withPrefix(lab.command('status')))
    .description('what exists and what answers a ping')
    .option('--json', 'print the status as JSON')
    .option('--group <group>', 'a class lab (lab up --groups): this group only (g03 or 3)')
    .action(async (o: CommonOpts & { json?: boolean; group?: string }) => {
      const { prefix, dir } = await resolveGroup(o);
      await assertLabPrerequisites('namespaces');
      if (o.group === undefined && (await isClassLab(prefix, dir))) {
        const c = await classLabStatus({ prefix, dir });
        io.stdout.write(o.json ? `${JSON.stringify(c, null, 2)}\n` : describeClassStatus(c));
        return;
      }
      const s = await labStatus({ prefix, dir });
      io.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : describeStatus(s));
    });

  withPrefix(lab.command('traffic'))
    .description(
      'the classroom mix between vm1 and vm2: ARP, pings (1400 and fragmented 3000 bytes), TCP, UDP, IPv6 ND, guest → local bridge',
    )
    .option(
      '--duration <time>',
      'keep pinging vm1 → vm2 until this much time has passed: 10s, 500ms, 2m (a plain number is seconds; at most 10m)',
      labDuration,
      5,
    )
    .option('--json', 'print the summary as JSON')
    .option('--group <group>', 'a class lab: in this group (repeatable; `all` for every group, at the same time)', collect)
    .action(async (o: { prefix: string; duration: number; json?: boolean; group?: string[] }) => {
      const prefix = checkPrefix(o.prefix);
      await assertLabPrerequisites();
      const dir = defaultLabDir(prefix);
      if (o.group === undefined && (await isClassLab(prefix, dir)))
        throw new UsageError(`lab '${prefix}' is a class lab: say which groups play traffic with --group gNN (repeatable) or --group all`);
      const prefixes = o.group === undefined ? [prefix] : await groupPrefixes(prefix, dir, o.group);
      const all = await Promise.all(prefixes.map((p) => labTraffic({ prefix: p, durationSec: o.duration })));
      io.stdout.write(o.json ? `${JSON.stringify(all.length === 1 ? all[0] : all, null, 2)}\n` : all.map(describeTraffic).join(''));
      const bad = all.flatMap((t) => t.steps.filter((s) => !s.ok).map((s) => `${t.prefix} ${s.name}`));
      if (bad.length > 0) throw new LabError(`lab traffic: ${bad.join(', ')} failed`);
    });

  withPrefix(lab.command('exec'))
    .description(`run a command inside a lab namespace (${LAB_ROLES.join(', ')}); put it after --`)
    .argument('<node>', LAB_ROLES.join('|'))
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--group <group>', 'a class lab: the node of this group (g03 or 3)')
    .action(async (node: string, command: string[], o: { prefix: string; group?: string }) => {
      const { prefix } = await resolveGroup(o);
      if (!isLabRole(node)) throw new UsageError(`unknown lab node '${node}': use one of ${LAB_ROLES.join(', ')}`);
      await assertLabPrerequisites('namespaces');
      const argv = netnsExec(netnsName(prefix, node), command);
      io.stderr.write(`+ ${commandLine(argv)}\n`);
      const interactive = io.stdout === process.stdout && io.stderr === process.stderr;
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(argv[0] ?? 'ip', argv.slice(1), { stdio: interactive ? 'inherit' : ['inherit', 'pipe', 'pipe'] });
        child.stdout?.on('data', (b: Buffer) => io.stdout.write(b));
        child.stderr?.on('data', (b: Buffer) => io.stderr.write(b));
        child.on('error', reject);
        child.on('close', (c) => resolve(c));
      });
      if (code !== 0) throw new LabError(`\`${commandLine(argv)}\` exited with ${code ?? 'a signal'}`);
    });

  withDir(withPrefix(lab.command('break')))
    .description('make a teaching fault inside the lab (one at a time; recorded in DIR/break.json for `lab fix`)')
    .argument('<kind>', LAB_BREAK_KINDS.join('|'))
    .option('--node <node>', 'the node to break: kvm1 or kvm2 (default kvm2; kvm1 for stale-fdb and offload)')
    .addHelpText(
      'after',
      `\nKinds:\n${LAB_BREAK_KINDS.map((k) => `  ${k.padEnd(10)} ${KIND_HELP[k]} (default node ${defaultBreakNode(k)})`).join('\n')}\n`,
    )
    .option('--group <group>', 'a class lab (lab up --groups): break this group (g03 or 3)')
    .action(async (kind: string, o: CommonOpts & { node?: string; group?: string }) => {
      const { prefix, dir } = await resolveGroup(o);
      if (!isBreakKind(kind)) throw new UsageError(`unknown fault kind '${kind}': use one of ${LAB_BREAK_KINDS.join(', ')}`);
      await assertLabPrerequisites('namespaces');
      const r = await labBreak({ prefix, dir, kind, ...(o.node !== undefined ? { node: o.node } : {}) });
      io.stdout.write(describeBreak(r));
    });

  withDir(withPrefix(lab.command('fix')))
    .description('undo the fault `lab break` made, exactly as recorded')
    .option('--group <group>', 'a class lab: fix this group (g03 or 3)')
    .action(async (o: CommonOpts & { group?: string }) => {
      const { prefix, dir } = await resolveGroup(o);
      await assertLabPrerequisites('namespaces');
      const r = await labFix({ prefix, dir });
      io.stdout.write(`lab fix: ${r.kind} on ${r.node} undone (was: ${r.summary})\n`);
    });

  withDir(withPrefix(lab.command('record')))
    .description('capture eth1 and vxlan_bridge on kvm1 and kvm2 with tcpdump while `lab traffic` runs')
    .requiredOption('--out <dir>', 'directory for kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap, kvm2-eth1.pcap, kvm2-vxlan_bridge.pcap')
    .option('--duration <time>', 'traffic duration: 10s, 500ms, 2m (a plain number is seconds; at most 10m)', labDuration, 3)
    .option('--group <group>', 'a class lab (lab up --groups): record this group (g03 or 3)')
    .action(async (o: CommonOpts & { out: string; duration: number; group?: string }) => {
      const { prefix } = await resolveGroup(o);
      await assertLabPrerequisites();
      const r = await labRecord({ prefix, outDir: o.out, durationSec: o.duration });
      io.stdout.write(describeTraffic(r.traffic));
      for (const f of r.files)
        io.stdout.write(`wrote ${f.path}: ${f.bytes} bytes, ${f.packets ?? '?'} packets (tcpdump on ${f.node} ${f.iface})\n`);
      if (!r.traffic.ok) throw new LabError('lab record: some traffic steps failed (see above); the recording is incomplete');
    });
}
