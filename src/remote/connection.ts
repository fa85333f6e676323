/**
 * SSH connections with ssh2, behaving like OpenSSH: host keys checked against known_hosts
 * (StrictHostKeyChecking=yes, or accept-new), ssh-agent (SSH_AUTH_SOCK) then the identity file,
 * a connect timeout, keepalives, and jump hosts chained through `forwardOut` like `ssh -J`.
 *
 * One `RemoteSession` per node carries every command run on that node (`SessionPool`).
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
// ssh2 is CommonJS: Node's ESM loader exposes only its default export at run time.
import ssh2, { type Client as SshClient, type ConnectConfig } from 'ssh2';
import { VxiError } from '../errors.js';
import { runOn, spawnOn, type RemoteProcess, type RunOptions, type RunResult, type SpawnOptions, type ExecTarget } from './exec.js';
import {
  appendKnownHost,
  knownHostsName,
  preferredHostKeyAlgorithms,
  readKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
} from './hostkeys.js';
import type { JumpConfig, NodeConfig } from './inventory.js';

const { Client, utils } = ssh2;
type Client = SshClient;

export interface ConnectOptions {
  /** Like `StrictHostKeyChecking=accept-new`: an unknown host's key is written to knownHosts. */
  acceptNew?: boolean;
  /** TCP connect + handshake + authentication, per hop. Default 10 s. */
  timeoutMs?: number;
  /** SSH keepalive interval; default 15 s, 3 missed = connection dropped. 0 disables. */
  keepaliveMs?: number;
  /** Use this agent socket instead of $SSH_AUTH_SOCK; `false` disables the agent. */
  agent?: string | false;
}

/** The SSH endpoint of one hop (a node, or a jump host). */
interface Hop {
  label: string;
  host: string;
  sshPort: number;
  user: string;
  identityFile: string;
  knownHosts: string;
}

function hopLabel(h: Hop): string {
  const port = h.sshPort === 22 ? '' : `:${h.sshPort}`;
  return `${h.label} (${h.host}${port})`;
}

function hostkeyError(h: Hop, v: Exclude<HostKeyVerdict, { status: 'known' }>, name: string): VxiError {
  const keyscan = `ssh-keyscan -p ${h.sshPort} -t ${v.keyType === 'ssh-rsa' ? 'rsa' : v.keyType} ${h.host} >> ${h.knownHosts}`;
  if (v.status === 'unknown') {
    return new VxiError(
      'VXI_HOSTKEY',
      `${hopLabel(h)}: host key not in ${h.knownHosts} — ${v.keyType} fingerprint ${v.fingerprint}; ` +
        `check it on the node (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then run again with --accept-new to trust it, or add it yourself: ${keyscan}`,
      { exitCode: 2 },
    );
  }
  if (v.status === 'revoked') {
    return new VxiError(
      'VXI_HOSTKEY',
      `${hopLabel(h)}: the host key ${v.fingerprint} is marked @revoked in ${h.knownHosts} (line ${v.line}); refusing to connect`,
      { exitCode: 2 },
    );
  }
  const recorded = v.recordedTypes.includes(v.keyType)
    ? `which is not the key recorded in ${h.knownHosts} (line ${v.lines.join(', ')})`
    : `but ${h.knownHosts} records only a ${v.recordedTypes.join(' / ')} key for it (line ${v.lines.join(', ')}): a known host offering a key of another type`;
  return new VxiError(
    'VXI_HOSTKEY',
    `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! ${hopLabel(h)} presented ${v.keyType} key ${v.fingerprint}, ` +
      `${recorded}. Someone could be eavesdropping on you right now ` +
      `(man-in-the-middle attack), or the host key was just changed (node reinstalled). Refusing to connect. ` +
      `If you know why it changed: ssh-keygen -f ${h.knownHosts} -R '${name}', then connect again.`,
    { exitCode: 2 },
  );
}

/** Maps ssh2/socket errors to a message naming the hop and what to do. */
function connectError(h: Hop, err: Error & { code?: string; level?: string }, timeoutMs: number, triedAuth: string[]): VxiError {
  const where = hopLabel(h);
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED')
    return new VxiError(
      'VXI_SSH_REFUSED',
      `${where}: connection refused on port ${h.sshPort}; is sshd running there, and is the port right (port: in the inventory)?`,
      { cause: err },
    );
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return new VxiError(
      'VXI_SSH_UNREACHABLE',
      `${where}: host unreachable (${code}); check the address and the route to it (or set jump: in the inventory)`,
      { cause: err },
    );
  if (code === 'EACCES' || code === 'EPERM')
    return new VxiError(
      'VXI_SSH_UNREACHABLE',
      `${where}: the local system refuses the connection (${code}: ` +
        'a prohibit route or firewall rule on this machine); set jump: ' +
        'in the inventory if the node is reachable only through another host',
      { cause: err },
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new VxiError('VXI_SSH_UNREACHABLE', `${where}: cannot resolve host name ${h.host}`, { cause: err });
  if (code === 'ECONNRESET')
    return new VxiError('VXI_SSH', `${where}: connection reset by the server; check sshd's log there`, { cause: err });
  // ssh2 marks its own timeouts (handshake, ready) with level 'client-timeout'; a socket timeout is ETIMEDOUT
  if (err.level === 'client-timeout' || code === 'ETIMEDOUT') {
    return new VxiError(
      'VXI_SSH_TIMEOUT',
      `${where}: no SSH session within ${timeoutMs / 1000} s (connect timeout); is the host up and port ${h.sshPort} open?`,
      { cause: err },
    );
  }
  if (err.level === 'client-authentication') {
    const tried = triedAuth.length > 0 ? triedAuth.join(' and ') : 'nothing (no agent, no readable identity file)';
    return new VxiError(
      'VXI_SSH_AUTH',
      `${where}: authentication failed as ${h.user} (tried ${tried}); ` +
        `put your public key in ~${h.user}/.ssh/authorized_keys there ` +
        `(ssh-copy-id -i ${h.identityFile}.pub ${h.user}@${h.host}), ` +
        'or set identityFile/user in the inventory',
      { cause: err },
    );
  }
  if (err.level === 'handshake' || err.level === 'protocol') {
    return new VxiError('VXI_SSH', `${where}: SSH handshake failed: ${err.message}`, { cause: err });
  }
  return new VxiError('VXI_SSH', `${where}: SSH connection failed: ${err.message}`, { cause: err });
}

async function loadIdentity(h: Hop): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readFile(h.identityFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const why = code === 'EISDIR' ? 'it is a directory, not a private key file' : (err as Error).message;
    throw new VxiError(
      'VXI_SSH',
      `${hopLabel(h)}: cannot read the identity file ${h.identityFile}: ${why}; set identityFile in the inventory to a private key (e.g. ~/.ssh/id_ed25519)`,
      { exitCode: 2, cause: err },
    );
  }
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) {
    if (/encrypted|passphrase/i.test(parsed.message)) {
      throw new VxiError(
        'VXI_SSH',
        `${hopLabel(h)}: the identity file ${h.identityFile} is protected by a passphrase; ` +
          `load it into an agent first (eval "$(ssh-agent)"; ssh-add ${h.identityFile})`,
      );
    }
    throw new VxiError('VXI_SSH', `${hopLabel(h)}: cannot read the private key ${h.identityFile}: ${parsed.message}`);
  }
  return key;
}

/** Opens one authenticated ssh2 Client to `h`, optionally over `sock` (a channel of the previous hop). */
async function connectHop(h: Hop, opts: ConnectOptions, sock?: Duplex): Promise<Client> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const name = knownHostsName(h.host, h.sshPort);
  const entries = await readKnownHosts(h.knownHosts);
  const agent = opts.agent === false ? undefined : (opts.agent ?? process.env.SSH_AUTH_SOCK);
  const privateKey = await loadIdentity(h);
  const methods: ('agent' | 'publickey')[] = [];
  const tried: string[] = [];
  if (agent) {
    methods.push('agent');
    tried.push(`the agent at ${agent}`);
  }
  if (privateKey) {
    methods.push('publickey');
    tried.push(h.identityFile);
  }
  if (methods.length === 0) {
    throw new VxiError(
      'VXI_SSH_AUTH',
      `${hopLabel(h)}: no credentials: SSH_AUTH_SOCK is not set and ${h.identityFile} does not exist; ` +
        'create a key (ssh-keygen -t ed25519) or set identityFile in the inventory',
    );
  }

  let hostKeyProblem: VxiError | undefined;
  const client = new Client();
  const cfg: ConnectConfig = {
    host: h.host,
    port: h.sshPort,
    username: h.user,
    readyTimeout: timeoutMs,
    keepaliveInterval: opts.keepaliveMs ?? 15_000,
    keepaliveCountMax: 3,
    authHandler: methods,
    // No cipher list of our own: ssh2's puts aes128-gcm@openssh.com first on a CPU with AES
    // instructions (chacha20-poly1305 first without), and that measured fastest here (raw streams in
    // turn under the same load, median MB/s: aes128-gcm 60, aes128-ctr 55, chacha20-poly1305 34).
    // Channel windows are ssh2 constants (2 MiB window, 32 KiB packets: OpenSSH's own defaults);
    // with them the transport alone matches OpenSSH's client (docs/load.md).
    algorithms: { serverHostKey: preferredHostKeyAlgorithms(entries, name) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void): void => {
      const v = verifyHostKey(entries, name, key);
      if (v.status === 'known') return verify(true);
      if (v.status === 'unknown' && opts.acceptNew) {
        appendKnownHost(h.knownHosts, name, key).then(
          () => verify(true),
          (err: Error) => {
            hostKeyProblem = new VxiError('VXI_HOSTKEY', `${hopLabel(h)}: cannot add the host key to ${h.knownHosts}: ${err.message}`, {
              cause: err,
            });
            verify(false);
          },
        );
        return;
      }
      hostKeyProblem = hostkeyError(h, v, name);
      verify(false);
    },
  };
  if (agent) cfg.agent = agent;
  if (privateKey) cfg.privateKey = privateKey;
  if (sock) cfg.sock = sock;

  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error & { code?: string; level?: string }): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(hostKeyProblem ?? connectError(h, err, timeoutMs, tried));
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', fail);
    client.once('close', () => fail(Object.assign(new Error('connection closed during the handshake'), { level: 'protocol' })));
    try {
      client.connect(cfg);
    } catch (err) {
      fail(err as Error);
    }
  });
}

function forwardOut(client: Client, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch)));
  });
}

/** A channel from the last jump host to host:port (like `ssh -J`), or undefined without jump hosts. */
async function forwardThrough(hops: Client[], host: string, port: number, label: string): Promise<Duplex | undefined> {
  const last = hops[hops.length - 1];
  if (!last) return undefined;
  try {
    return await forwardOut(last, host, port);
  } catch (err) {
    throw new VxiError('VXI_SSH', `${label}: the jump host could not open a TCP connection to it: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function jumpChain(j: JumpConfig | undefined): JumpConfig[] {
  const chain: JumpConfig[] = [];
  for (let cur = j; cur; cur = cur.jump) chain.unshift(cur);
  return chain;
}

export interface SshConnectionInfo {
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
}

/** An authenticated SSH connection to one node; every command on the node goes through it. */
export class RemoteSession extends EventEmitter {
  readonly node: NodeConfig;
  private readonly client: Client;
  /** Clients of the jump hosts, outermost first; closed with the session. */
  private readonly hops: Client[];
  private closed = false;
  private lastError: VxiError | undefined;
  private info: Promise<SshConnectionInfo> | undefined;

  private constructor(node: NodeConfig, client: Client, hops: Client[]) {
    super();
    this.node = node;
    this.client = client;
    this.hops = hops;
    client.on('error', (err: Error) => {
      if (!this.closed) this.lastError = new VxiError('VXI_SSH', `${this.label}: SSH connection lost: ${err.message}`, { cause: err });
    });
    client.on('close', () => {
      const requested = this.closed;
      this.closed = true;
      for (const c of this.hops) c.end();
      const error = requested
        ? undefined
        : (this.lastError ?? new VxiError('VXI_SSH', `${this.label}: SSH connection closed by the remote side`));
      /** 'close' (info: { requested: boolean; error?: VxiError }): the connection ended; `error` unless close() was called. */
      this.emit('close', { requested, error });
    });
  }

  /** `kvm1 (10.3.1.156)`. */
  get label(): string {
    return `${this.node.name} (${this.node.host})`;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private get target(): ExecTarget {
    return { name: this.node.name, host: this.node.host, user: this.node.user, sudo: this.node.sudo };
  }

  /** Connects (through the jump hosts, if any) and authenticates. */
  static async connect(node: NodeConfig, opts: ConnectOptions = {}): Promise<RemoteSession> {
    const hops: Client[] = [];
    try {
      let sock: Duplex | undefined;
      for (const j of jumpChain(node.jump)) {
        const hop: Hop = {
          label: `jump host ${j.name} for ${node.name}`,
          host: j.host,
          sshPort: j.sshPort,
          user: j.user,
          identityFile: j.identityFile,
          knownHosts: j.knownHosts,
        };
        sock = await forwardThrough(hops, hop.host, hop.sshPort, hopLabel(hop));
        hops.push(await connectHop(hop, opts, sock));
      }
      sock = await forwardThrough(hops, node.host, node.sshPort, `${node.name} (${node.host}:${node.sshPort})`);
      const client = await connectHop(
        {
          label: node.name,
          host: node.host,
          sshPort: node.sshPort,
          user: node.user,
          identityFile: node.identityFile,
          knownHosts: node.knownHosts,
        },
        opts,
        sock,
      );
      return new RemoteSession(node, client, hops);
    } catch (err) {
      for (const c of hops) c.end();
      throw err;
    }
  }

  /** Runs `argv` (each argument quoted) and collects its output. Does not throw on a non-zero exit code. */
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    this.assertOpen();
    return runOn(this.client, this.target, argv, opts);
  }

  /** Like `run`, but a non-zero exit code is a VXI_REMOTE_COMMAND error quoting stderr. */
  async runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.run(argv, opts);
    if (r.code !== 0) {
      const why =
        r.stderr.trim() ||
        r.stdout.trim() ||
        (r.signal ? `killed by ${r.signal.replace(/^(SIG)?/, 'SIG')}` : `exit code ${r.code ?? 'unknown'}`);
      throw new VxiError(
        'VXI_REMOTE_COMMAND',
        `${this.label}: \`${argv.join(' ')}\` failed (exit ${r.code ?? r.signal ?? '?'}): ${why.split('\n').slice(0, 3).join(' / ')}`,
      );
    }
    return r;
  }

  /** Starts a long-running program on its own channel of this connection. */
  async spawn(argv: readonly string[], opts: SpawnOptions = {}): Promise<RemoteProcess> {
    this.assertOpen();
    return spawnOn(this.client, this.target, argv, opts);
  }

  /**
   * This connection as the node sees it (`$SSH_CONNECTION`): our address and port, and the
   * node's. Through a jump host, `clientAddress` is the jump host's. Capture uses it to keep its
   * own SSH traffic out of the underlay capture.
   */
  async connectionInfo(): Promise<SshConnectionInfo> {
    this.info ??= this.run(['sh', '-c', 'printf %s "$SSH_CONNECTION"'], { timeoutMs: 10_000 }).then((r) => {
      const [clientAddress, clientPort, serverAddress, serverPort] = r.stdout.trim().split(/\s+/);
      if (!clientAddress || !serverAddress || r.code !== 0) {
        throw new VxiError('VXI_REMOTE_COMMAND', `${this.label}: cannot read SSH_CONNECTION on the node (got ${JSON.stringify(r.stdout)})`);
      }
      return { clientAddress, clientPort: Number(clientPort), serverAddress, serverPort: Number(serverPort) };
    });
    return this.info;
  }

  /** Sends `kill -s SIG PID` on the node (with sudo when the inventory says so). */
  async kill(pid: number, signal: 'INT' | 'TERM' | 'KILL' = 'TERM'): Promise<RunResult> {
    if (!Number.isInteger(pid) || pid <= 1) throw new VxiError('VXI_USAGE', `refusing to signal PID ${pid}`, { exitCode: 2 });
    return this.run(['kill', '-s', signal, String(pid)], { sudo: true, timeoutMs: 10_000 });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('close', () => resolve());
      this.closed = true;
      this.client.end();
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new VxiError('VXI_SSH', `${this.label}: the SSH connection is closed`);
  }
}

/** One session per node name, opened on first use and reused. */
export class SessionPool {
  private readonly sessions = new Map<string, Promise<RemoteSession>>();
  constructor(private readonly opts: ConnectOptions = {}) {}

  get(node: NodeConfig): Promise<RemoteSession> {
    const existing = this.sessions.get(node.name);
    if (existing) {
      return existing.then((s) => (s.isOpen ? s : this.open(node)));
    }
    return this.open(node);
  }

  private open(node: NodeConfig): Promise<RemoteSession> {
    const p = RemoteSession.connect(node, this.opts);
    this.sessions.set(node.name, p);
    p.catch(() => this.sessions.delete(node.name));
    return p;
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (s) => s.close(),
          () => undefined,
        ),
      ),
    );
  }
}
