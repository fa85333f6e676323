/**
 * The class inventory: groups of nodes, each its own overlay, defaults shared by every group.
 *
 * ```yaml
 * defaults: { user: root, identityFile: ~/.ssh/id_ed25519, knownHosts: ~/.ssh/known_hosts }
 * overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }
 * groups:                         # a numbered series: g01 … g15, group n's addresses from patterns
 *   count: 15
 *   name: g{n:02}
 *   nodes:
 *     kvm1: { host: "10.3.{n}.156", bridgeAddress: 10.220.220.201/24 }
 *     kvm2: { host: "10.3.{n}.174", bridgeAddress: 10.220.220.202/24 }
 * overrides:                      # per-group changes, by name
 *   g07: { overlay: { vni: 17 }, nodes: { kvm2: { user: admin, sudo: true } } }
 * ```
 *
 * - `groups` is one series (a map with `count`) or a list of series and single groups
 *   (`{ name: demo, nodes: {…} }`). A series takes `count`, `name` (with `{n}`), `start` (first n,
 *   default 1), `nodes`, and optional `defaults`/`overlay`; every string in it may hold `{n}` or
 *   `{n:02}` (zero-padded to 2 digits); inside a `{ … }` map a pattern is quoted (YAML reads a bare
 *   `{` there as a map). A number key (vni, port, mtu) written as a pattern,
 *   `vni: "1{n:02}"`, becomes a number.
 * - A group's `defaults`/`overlay` override the class's; `overrides.<group>` overrides the group's
 *   (its `nodes.<node>` keys are merged into that node). Node entries are exactly those of the
 *   node inventory (src/remote/inventory.ts), so each group resolves to an ordinary `Inventory`:
 *   every value is validated there, and an invalid one is named here by file, line and key.
 * - Relative paths are relative to the class file, as in the node inventory.
 */
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, stringify, type Document } from 'yaml';
import { VxiError } from '../errors.js';
import { MAX_INVENTORY_BYTES, parseInventory, readSmallText, type Inventory } from '../remote/inventory.js';
import type { ClassGroup, ClassInventory } from './types.js';

type Path = (string | number)[];
type Json = Record<string, unknown>;

const TOP_KEYS = ['defaults', 'overlay', 'groups', 'overrides'];
const SERIES_KEYS = ['count', 'start', 'name', 'nodes', 'defaults', 'overlay'];
const SINGLE_KEYS = ['name', 'nodes', 'defaults', 'overlay'];
const OVERRIDE_KEYS = ['nodes', 'defaults', 'overlay'];
/** Keys whose values are numbers; a pattern there becomes a number once `{n}` is filled in. */
const NUMBER_KEYS = new Set(['vni', 'port', 'mtu']);
/** A group name is a folder name too (capture writes OUT/<group>/). */
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
export const MAX_GROUPS = 1000;
const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Where each key of the file is: its line, for messages. */
class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line (1-based) of the key at `path` (or of the list item), else of its deepest existing parent. */
  line(path: Path): number {
    let node: unknown = this.doc.contents;
    let at = 0;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const k = pair.key as { range?: [number, number, number] };
        if (k.range) at = k.range[0];
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as { range?: [number, number, number] } | undefined;
        if (!item) break;
        if (item.range) at = item.range[0];
        node = item;
      } else break;
    }
    return this.lines.linePos(at).line;
  }
}

/** `groups[0].nodes.kvm1.host`. */
function pathText(path: Path): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function classError(source: string, line: number | null, key: string, what: string): VxiError {
  const where = line === null ? '' : `, line ${line}`;
  return new VxiError('VXI_INVENTORY', `invalid class inventory ${source}${where}: ${key ? `${key}: ` : ''}${what}`, { exitCode: 2 });
}

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fills `{n}` / `{n:0W}` in a string; null with the reason when a placeholder is not one of those. */
export function fillPattern(text: string, n: number): { text: string; filled: boolean } | { problem: string } {
  let filled = false;
  let problem: string | null = null;
  const out = text.replace(PLACEHOLDER, (all, inner: string) => {
    const m = /^n(?::0([1-9]))?$/.exec(inner);
    if (!m) {
      problem ??= `unknown placeholder ${all}: use {n} (the group's number) or {n:02} (zero-padded to 2 digits)`;
      return all;
    }
    filled = true;
    return String(n).padStart(m[1] === undefined ? 0 : Number(m[1]), '0');
  });
  return problem !== null ? { problem } : { text: out, filled };
}

/** Record of where each key of a group's synthetic inventory came from. */
type Origins = Map<string, Path>;

/** Copies a map (one level, or two for `overlay` inside a node), filling patterns and noting where each key came from. */
function copyMap(
  src: unknown,
  srcPath: Path,
  dstPath: string,
  origins: Origins,
  fill: ((v: string, key: string, at: Path) => unknown) | null,
  ctx: { source: string; pos: Positions },
): Json {
  if (src === undefined || src === null) return {};
  if (!isRecord(src)) throw classError(ctx.source, ctx.pos.line(srcPath), pathText(srcPath), 'must be a map of keys to values');
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    const at = [...srcPath, k];
    const dst = `${dstPath}.${k}`;
    origins.set(dst, at);
    if (isRecord(v)) out[k] = copyMap(v, at, dst, origins, fill, ctx);
    else if (typeof v === 'string' && fill) out[k] = fill(v, k, at);
    else out[k] = v;
  }
  return out;
}

/** A group before validation: plain values for parseInventory, and where each came from. */
interface RawGroup {
  name: string;
  n?: number;
  /** Where the group is defined (series or entry). */
  at: Path;
  defaults: Json;
  overlay: Json;
  nodes: Record<string, Json>;
  origins: Origins;
}

function checkKeys(obj: Json, allowed: readonly string[], at: Path, ctx: { source: string; pos: Positions }): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      throw classError(ctx.source, ctx.pos.line([...at, k]), pathText([...at, k]), `unknown key (known: ${allowed.join(', ')})`);
  }
}

function readNodes(
  raw: unknown,
  at: Path,
  origins: Origins,
  fill: Parameters<typeof copyMap>[4],
  ctx: { source: string; pos: Positions },
): Record<string, Json> {
  if (!isRecord(raw) || Object.keys(raw).length === 0) {
    throw classError(
      ctx.source,
      ctx.pos.line(at),
      pathText(at),
      'must be a map with at least one node (e.g. kvm1: { host: 10.3.{n}.156, bridgeAddress: 10.220.220.201/24 })',
    );
  }
  const nodes: Record<string, Json> = Object.create(null) as Record<string, Json>;
  origins.set('nodes', at);
  for (const [name, entry] of Object.entries(raw)) {
    const p = [...at, name];
    if (!isRecord(entry))
      throw classError(
        ctx.source,
        ctx.pos.line(p),
        pathText(p),
        'must be a map (e.g. { host: 10.3.{n}.156, bridgeAddress: 10.220.220.201/24 })',
      );
    origins.set(`nodes.${name}`, p);
    nodes[name] = copyMap(entry, p, `nodes.${name}`, origins, fill, ctx);
  }
  return nodes;
}

function expandItem(item: unknown, at: Path, ctx: { source: string; pos: Positions }): RawGroup[] {
  if (!isRecord(item))
    throw classError(
      ctx.source,
      ctx.pos.line(at),
      pathText(at),
      'must be a map: a numbered series { count, name: g{n:02}, nodes } or a group { name, nodes }',
    );
  if (!('count' in item)) {
    checkKeys(item, SINGLE_KEYS, at, ctx);
    const name = item.name;
    if (typeof name !== 'string')
      throw classError(
        ctx.source,
        ctx.pos.line([...at, 'name']),
        pathText([...at, 'name']),
        'is missing or not a string: every group has a name (or give count: for a numbered series)',
      );
    const origins: Origins = new Map();
    return [
      {
        name,
        at,
        defaults: copyMap(item.defaults, [...at, 'defaults'], 'defaults', origins, null, ctx),
        overlay: copyMap(item.overlay, [...at, 'overlay'], 'overlay', origins, null, ctx),
        nodes: readNodes(item.nodes, [...at, 'nodes'], origins, null, ctx),
        origins,
      },
    ];
  }
  checkKeys(item, SERIES_KEYS, at, ctx);
  const count = item.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_GROUPS) {
    throw classError(
      ctx.source,
      ctx.pos.line([...at, 'count']),
      pathText([...at, 'count']),
      `must be a whole number of groups from 1 to ${MAX_GROUPS} (got ${JSON.stringify(count)})`,
    );
  }
  const start = item.start ?? 1;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start > 1_000_000) {
    throw classError(
      ctx.source,
      ctx.pos.line([...at, 'start']),
      pathText([...at, 'start']),
      `must be a whole number, the first group's n (got ${JSON.stringify(start)})`,
    );
  }
  const pattern = item.name;
  if (typeof pattern !== 'string')
    throw classError(
      ctx.source,
      ctx.pos.line([...at, 'name']),
      pathText([...at, 'name']),
      'is missing: a series needs a name pattern such as g{n:02}',
    );
  const probe = fillPattern(pattern, start);
  if ('problem' in probe) throw classError(ctx.source, ctx.pos.line([...at, 'name']), pathText([...at, 'name']), probe.problem);
  if (count > 1 && !probe.filled) {
    throw classError(
      ctx.source,
      ctx.pos.line([...at, 'name']),
      pathText([...at, 'name']),
      `"${pattern}" has no {n}: ${count} groups would have the same name (use e.g. g{n:02})`,
    );
  }
  const out: RawGroup[] = [];
  for (let n = start; n < start + count; n++) {
    const fill = (v: string, key: string, p: Path): unknown => {
      const r = fillPattern(v, n);
      if ('problem' in r) throw classError(ctx.source, ctx.pos.line(p), pathText(p), r.problem);
      return r.filled && NUMBER_KEYS.has(key) && /^\d{1,9}$/.test(r.text) ? Number(r.text) : r.text;
    };
    const name = fill(pattern, 'name', [...at, 'name']) as string;
    const origins: Origins = new Map();
    out.push({
      name,
      n,
      at,
      defaults: copyMap(item.defaults, [...at, 'defaults'], 'defaults', origins, fill, ctx),
      overlay: copyMap(item.overlay, [...at, 'overlay'], 'overlay', origins, fill, ctx),
      nodes: readNodes(item.nodes, [...at, 'nodes'], origins, fill, ctx),
      origins,
    });
  }
  return out;
}

/** Merges a map on top of another, noting origins of the keys it brings. */
function overlayOnto(
  base: Json,
  top: unknown,
  topPath: Path,
  dst: string,
  origins: Origins,
  ctx: { source: string; pos: Positions },
): Json {
  const add = copyMap(top, topPath, dst, origins, null, ctx);
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(add)) out[k] = isRecord(v) && isRecord(out[k]) ? { ...out[k], ...v } : v;
  return out;
}

/** The origin of an inventory key path (`nodes.kvm1.host`): the longest recorded prefix. */
function originOf(origins: Origins, key: string): Path | undefined {
  let best: string | undefined;
  for (const k of origins.keys()) {
    if ((key === k || key.startsWith(`${k}.`)) && (best === undefined || k.length > best.length)) best = k;
  }
  return best === undefined ? undefined : origins.get(best);
}

/** Validates one group through the node inventory's own parser; its errors are mapped back to this file's lines. */
function toInventory(
  g: RawGroup,
  top: { defaults: Json; overlay: Json },
  ctx: { source: string; pos: Positions; baseDir: string },
): Inventory {
  const source = `${ctx.source} (group ${g.name})`;
  const doc = { defaults: { ...top.defaults, ...g.defaults }, overlay: { ...top.overlay, ...g.overlay }, nodes: g.nodes };
  try {
    return parseInventory(stringify(doc), source, ctx.baseDir);
  } catch (err) {
    if (!(err instanceof VxiError) || err.code !== 'VXI_INVENTORY') throw err;
    const head = `invalid inventory ${source}: `;
    const rest = err.message.startsWith(head) ? err.message.slice(head.length) : err.message;
    const m = /^((?:defaults|overlay|nodes)(?:\.\S+?)?): ([\s\S]*)$/.exec(rest);
    const key = m?.[1] ?? '';
    const what = m?.[2] ?? rest;
    const at = originOf(g.origins, key) ?? g.at;
    throw classError(ctx.source, ctx.pos.line(at), `${pathText(at)} (group ${g.name})`, what);
  }
}

/** Parses and validates class inventory text; `source` names the file in messages. */
export function parseClassInventory(text: string, source: string, baseDir: string = process.cwd()): ClassInventory {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = e?.linePos?.[0];
    const line = p === undefined ? '' : (text.split('\n')[p.line - 1] ?? '');
    // the classic slip: an unquoted pattern inside a flow map, where YAML reads `{` as a map
    const hint =
      /\{n[:}]/.test(line) && /[{,]\s*\w+:\s*[^"'\s{][^,}]*\{n/.test(line) ? ' (quote a pattern inside { }: host: "10.3.{n}.156")' : '';
    throw classError(source, p?.line ?? null, '', `not valid YAML: ${(e?.message ?? 'parse error').split('\n')[0] ?? ''}${hint}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw classError(source, null, '', `not a usable YAML document: ${(err as Error).message}`);
  }
  const pos = new Positions(doc, lines);
  const ctx = { source, pos, baseDir };
  if (!isRecord(root)) throw classError(source, null, '', 'the file must be a map with keys defaults, overlay, groups, overrides');
  if ('nodes' in root && !('groups' in root)) {
    throw classError(
      source,
      pos.line(['nodes']),
      'nodes',
      'this is a node inventory (nodes:), not a class inventory (groups:): give it with --inventory, or list the groups under groups:',
    );
  }
  checkKeys(root, TOP_KEYS, [], ctx);
  const sharedOrigins: Origins = new Map();
  const top = {
    defaults: copyMap(root.defaults, ['defaults'], 'defaults', sharedOrigins, null, ctx),
    overlay: copyMap(root.overlay, ['overlay'], 'overlay', sharedOrigins, null, ctx),
  };
  if (root.groups === undefined || root.groups === null)
    throw classError(
      source,
      null,
      'groups',
      'is missing: list the groups (or one numbered series: { count: 15, name: g{n:02}, nodes: … })',
    );
  const items: [unknown, Path][] = Array.isArray(root.groups)
    ? root.groups.map((it, i) => [it, ['groups', i]])
    : [[root.groups, ['groups']]];
  if (items.length === 0) throw classError(source, pos.line(['groups']), 'groups', 'is empty: list at least one group');

  const raws: RawGroup[] = [];
  const seen = new Map<string, Path>();
  for (const [item, at] of items) {
    for (const g of expandItem(item, at, ctx)) {
      const nameAt = [...g.at, 'name'];
      if (!GROUP_NAME.test(g.name)) {
        throw classError(
          source,
          pos.line(nameAt),
          pathText(nameAt),
          `group name "${g.name}" must be 1-32 letters, digits, "_", "." or "-", starting with a letter or digit (it names a folder)`,
        );
      }
      const before = seen.get(g.name);
      if (before)
        throw classError(
          source,
          pos.line(nameAt),
          pathText(nameAt),
          `group ${g.name} is defined twice (first at line ${pos.line(before)})`,
        );
      seen.set(g.name, nameAt);
      raws.push(g);
    }
    if (raws.length > MAX_GROUPS) throw classError(source, pos.line(at), pathText(at), `more than ${MAX_GROUPS} groups`);
  }

  if (root.overrides !== undefined && root.overrides !== null) {
    if (!isRecord(root.overrides))
      throw classError(source, pos.line(['overrides']), 'overrides', 'must be a map of group name to { defaults, overlay, nodes }');
    for (const [name, ov] of Object.entries(root.overrides)) {
      const at: Path = ['overrides', name];
      const g = raws.find((r) => r.name === name);
      if (!g) {
        const names = raws.map((r) => r.name);
        throw classError(
          source,
          pos.line(at),
          pathText(at),
          `no group ${name} (groups: ${names.slice(0, 8).join(', ')}${names.length > 8 ? `, … ${names.length} in all` : ''})`,
        );
      }
      if (!isRecord(ov)) throw classError(source, pos.line(at), pathText(at), 'must be a map with defaults, overlay or nodes');
      checkKeys(ov, OVERRIDE_KEYS, at, ctx);
      g.defaults = overlayOnto(g.defaults, ov.defaults, [...at, 'defaults'], 'defaults', g.origins, ctx);
      g.overlay = overlayOnto(g.overlay, ov.overlay, [...at, 'overlay'], 'overlay', g.origins, ctx);
      if (ov.nodes !== undefined) {
        if (!isRecord(ov.nodes))
          throw classError(
            source,
            pos.line([...at, 'nodes']),
            pathText([...at, 'nodes']),
            'must be a map of node name to the keys that change',
          );
        for (const [node, entry] of Object.entries(ov.nodes)) {
          const p = [...at, 'nodes', node];
          if (!Object.hasOwn(g.nodes, node)) g.origins.set(`nodes.${node}`, p);
          g.nodes[node] = overlayOnto(g.nodes[node] ?? {}, entry, p, `nodes.${node}`, g.origins, ctx);
        }
      }
    }
  }

  const groups: ClassGroup[] = raws.map((g) => {
    for (const [k, v] of sharedOrigins) if (!g.origins.has(k)) g.origins.set(k, v);
    const inventory = toInventory(g, top, ctx);
    const out: ClassGroup = { name: g.name, inventory, line: pos.line(g.at) };
    if (g.n !== undefined) out.n = g.n;
    return out;
  });
  return { source, groups };
}

/** The class file's text; a device or a huge file is refused, not slurped. */
async function readBounded(file: string): Promise<string> {
  const text = await readSmallText(file, MAX_INVENTORY_BYTES);
  if (text === null)
    throw classError(file, null, '', `larger than ${MAX_INVENTORY_BYTES / 1024} KiB, so not a class inventory (a YAML file of groups)`);
  return text;
}

/** Loads a class inventory file. */
export async function loadClassInventory(file: string): Promise<ClassInventory> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readBounded(abs);
  } catch (err) {
    if (err instanceof VxiError) throw err;
    throw new VxiError('VXI_INVENTORY', `cannot read class inventory ${abs}: ${(err as Error).message}`, { exitCode: 2, cause: err });
  }
  return parseClassInventory(text, abs, dirname(abs));
}

/** The named groups (each once, in class order), or every group when none is named. */
export function selectGroups(cls: ClassInventory, names: readonly string[] = []): ClassGroup[] {
  if (names.length === 0) return cls.groups;
  const wanted = new Set(names);
  for (const n of wanted) {
    if (!cls.groups.some((g) => g.name === n)) {
      const all = cls.groups.map((g) => g.name);
      throw new VxiError(
        'VXI_USAGE',
        `no group "${n}" in the class inventory ${cls.source} (groups: ${all.slice(0, 12).join(', ')}${all.length > 12 ? `, … ${all.length} in all` : ''})`,
        { exitCode: 2 },
      );
    }
  }
  return cls.groups.filter((g) => wanted.has(g.name));
}

/** The group called `name`. */
export function classGroup(cls: ClassInventory, name: string): ClassGroup {
  const [g] = selectGroups(cls, [name]);
  if (!g) throw new VxiError('VXI_USAGE', `no group "${name}" in the class inventory ${cls.source}`, { exitCode: 2 });
  return g;
}
