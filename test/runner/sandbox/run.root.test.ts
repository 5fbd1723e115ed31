// Real sandboxes on this machine: runc, overlayfs, user namespaces, CNI, cgroups. Each test checks
// that nothing naming its container is left behind (mounts, netns, iptables, cgroups, CNI state).
import { spawnSync } from 'node:child_process';
import { statSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePortMapping } from '../../../runner/sandbox/cni-config';
import { removeOverlay } from '../../../runner/sandbox/overlay';
import type { NetworkAttachment } from '../../../runner/sandbox/network';
import { createSandboxFixture, findLeftovers, runInOverlay, type RunInOverlay, type SandboxFixture } from '../../support/sandbox';

let fx: SandboxFixture;
const finished: RunInOverlay[] = [];

beforeAll(async () => {
  fx = await createSandboxFixture();
}, 600_000);

afterEach(async () => {
  for (const run of finished.splice(0)) {
    await removeOverlay(run.layout.dir);
    expect(findLeftovers(fx, run.id)).toEqual([]);
  }
});

afterAll(() => fx?.remove());

async function run(args: string[], extra: Parameters<typeof runInOverlay>[2] = {}): Promise<RunInOverlay> {
  const r = await runInOverlay(fx, args, extra);
  finished.push(r);
  return r;
}

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host, timeout: 1000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

function httpGet(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) }).then((r) => r.text());
}

describe('runSandboxed', () => {
  it('writes a RUN-like change into the upper dir, owned by the shifted ids', async () => {
    const root = await run(['sh', '-c', 'echo hi > /made-by-root && mkdir -p /home/app && chown 1000:1000 /home/app && id -u']);
    expect(root.result).toMatchObject({ exitCode: 0, reason: 'exited with code 0' });
    expect(root.stdout).toBe('0');
    expect(readFileSync(join(root.layout.upper, 'made-by-root'), 'utf8')).toBe('hi\n');
    expect(statSync(join(root.layout.upper, 'made-by-root'))).toMatchObject({ uid: 100000, gid: 100000 });
    expect(statSync(join(root.layout.upper, 'home/app'))).toMatchObject({ uid: 101000, gid: 101000 });
    // The lower layer is untouched and /etc/hosts, /etc/resolv.conf (injected) are not in the layer.
    expect(() => statSync(join(fx.lower, 'made-by-root'))).toThrow();
    expect(() => statSync(join(root.layout.upper, 'etc/resolv.conf'))).toThrow();

    const user = await run(['sh', '-c', 'echo x > /tmp/by-user && id -u'], { uid: 1000, gid: 1000 });
    expect(user.stdout).toBe('1000');
    expect(statSync(join(user.layout.upper, 'tmp/by-user'))).toMatchObject({ uid: 101000, gid: 101000 });
  });

  it('streams stdout and stderr line by line with the stream name, loopback up without a network', async () => {
    const r = await run(['sh', '-c', 'echo one; echo two >&2; grep -c " lo$" /proc/net/if_inet6; printf "no-newline"; exit 3']);
    expect(r.result).toMatchObject({ exitCode: 3, reason: 'exited with code 3', oomKilled: false });
    expect(r.lines).toContainEqual({ stream: 'stdout', line: 'one' });
    expect(r.lines).toContainEqual({ stream: 'stderr', line: 'two' });
    expect(r.lines).toContainEqual({ stream: 'stdout', line: 'no-newline' });
    // Network mode none still has loopback up (::1 is assigned only to an interface that is up).
    expect(r.lines).toContainEqual({ stream: 'stdout', line: '1' });
  });

  it('reports a missing executable as a start failure', async () => {
    const r = await run(['/no/such/binary']);
    expect(r.result.exitCode).not.toBe(0);
    expect(r.result.reason).toMatch(/^cannot start: .*no such file or directory/i);
  });

  it('reaches the Debian mirror through NAT, with IPv4 and IPv6 loopback up', async () => {
    const r = await run(['sh', '-c', 'cat /proc/net/if_inet6 | grep -c " lo$"; apt-get update -o Acquire::Retries=0 2>&1 | tail -1'], {
      network: { mode: 'nat' },
      timeoutMs: 90_000,
    });
    expect(r.result.reason).toBe('exited with code 0');
    expect(r.stdout.split('\n')[0]).toBe('1');
    expect(r.stdout).toMatch(/Reading package lists/);
  });

  it('does not hang on a daemon left running', async () => {
    const t = Date.now();
    const r = await run(['sh', '-c', 'sleep 100 & echo started; exit 0'], { timeoutMs: 30_000 });
    expect(r.result.reason).toBe('exited with code 0');
    expect(r.stdout).toBe('started');
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it('stops a fork bomb with pids.max, and the host stays responsive', async () => {
    let maxLag = 0;
    let last = Date.now();
    const ticker = setInterval(() => {
      maxLag = Math.max(maxLag, Date.now() - last - 50);
      last = Date.now();
    }, 50);
    const t = Date.now();
    let hostFork: ReturnType<typeof spawnSync> | undefined;
    const r = await run(['bash', '-c', 'b() { b | b & }; b; sleep 2; exit 0'], {
      resources: { pidsLimit: 64 },
      timeoutMs: 6_000,
      // The host can still fork while the bomb runs into its limit.
      onStarted: () => void setTimeout(() => (hostFork = spawnSync('true', { timeout: 2_000 })), 500),
    });
    clearInterval(ticker);
    expect(r.result.pidsLimitHit).toBe(true);
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(hostFork?.status).toBe(0);
    expect(maxLag).toBeLessThan(1_000);
    const counted = await run(['sh', '-c', 'for i in $(seq 1 100); do sleep 30 & done; wait'], { resources: { pidsLimit: 32 }, timeoutMs: 20_000 });
    expect(counted.result).toMatchObject({ pidsLimitHit: true });
    expect(counted.result.reason).toMatch(/^pids limit reached \(32 processes\); exit code [1-9]/);
  });

  it('OOM-kills a memory bomb with 137 and says so', async () => {
    const r = await run(['perl', '-e', '$x = "x" x (1024 * 1024 * 1024); print "survived\\n"'], { resources: { memoryBytes: 128 * 1024 * 1024 } });
    expect(r.result).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: true, reason: 'out of memory (limit 128 MiB)' });
    expect(r.stdout).not.toContain('survived');
  });

  it('kills a busy loop at the timeout', async () => {
    const t = Date.now();
    const r = await run(['sh', '-c', 'while :; do :; done'], { timeoutMs: 2_000 });
    expect(r.result).toMatchObject({ exitCode: 137, oomKilled: false, reason: 'killed: timeout after 2 s' });
    expect(Date.now() - t).toBeLessThan(6_000);
  });

  it('stops within seconds when cancelled', async () => {
    const ac = new AbortController();
    const t = Date.now();
    setTimeout(() => ac.abort(), 500);
    const r = await run(['sh', '-c', 'trap "" TERM; sleep 1000'], { signal: ac.signal, network: { mode: 'nat' } });
    expect(r.result.reason).toBe('cancelled');
    expect(Date.now() - t).toBeLessThan(4_000);
  });
});

describe('escapes', () => {
  let hostLoopback: Server;
  let hostAny: Server;
  const secret = join('/tmp', `berth-secret-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    writeFileSync(secret, 'runner credentials');
    hostLoopback = createServer((s) => s.on('error', () => {}).end('loopback service\n'));
    hostAny = createServer((s) => s.on('error', () => {}).end('any-address service\n'));
    await new Promise<void>((r) => hostLoopback.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => hostAny.listen(0, '0.0.0.0', r));
  });

  afterAll(() => {
    rmSync(secret, { force: true });
    hostLoopback?.close();
    hostAny?.close();
  });

  it('cannot mount, write sysrq, load modules or read a raw disk', async () => {
    const rootDev = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!.split(' ')[2]!;
    const [major, minor] = rootDev.split(':');
    const script = [
      'mount -t tmpfs t /mnt 2>/dev/null && echo ESCAPE-mount',
      'mount --bind /proc /mnt 2>/dev/null && echo ESCAPE-bind',
      // h is sysrq's harmless "help"; it must not be writable at all.
      '(echo h > /proc/sysrq-trigger) 2>/dev/null && echo ESCAPE-sysrq',
      `mknod /tmp/disk b ${major} ${minor} 2>/dev/null && head -c 512 /tmp/disk >/dev/null 2>&1 && echo ESCAPE-disk`,
      'head -c 1 /dev/mem >/dev/null 2>&1 && echo ESCAPE-mem',
      // init_module(175) and finit_module(313) on x86_64, straight from perl: there is no insmod in minbase.
      'perl -e \'my $p = ""; syscall(175, 0, 0, $p); print "init_module: $!\\n"; syscall(313, 0, $p, 0); print "finit_module: $!\\n"\'',
      'perl -e \'syscall(169, 0xfee1dead, 672274793, 0x4321fedc, 0); print "reboot: $!\\n"\'',
      'unshare -r true 2>/dev/null && echo ESCAPE-userns',
      // Calls that succeed for root without seccomp: the profile is what refuses them.
      'perl -e \'my $r = syscall(250, 0, -3, 0); print "keyctl: " . ($r < 0 ? $! : "ESCAPE-keyctl") . "\\n"\'',
      'perl -e \'my $p = "\\0" x 120; my $r = syscall(425, 1, $p); print "io_uring_setup: " . ($r < 0 ? $! : "ESCAPE-io_uring") . "\\n"\'',
      'setarch -R true 2>/dev/null && echo ESCAPE-personality',
      'echo done',
    ].join('; ');
    const r = await run(['sh', '-c', script]);
    expect(r.stdout).not.toContain('ESCAPE');
    expect(r.stdout).toContain('init_module: Operation not permitted');
    expect(r.stdout).toContain('finit_module: Operation not permitted');
    expect(r.stdout).toContain('reboot: Operation not permitted');
    expect(r.stdout).toContain('keyctl: Operation not permitted');
    expect(r.stdout).toContain('io_uring_setup: Operation not permitted');
    expect(r.stdout).toContain('done');
  });

  it("cannot read the runner's files or reach its services", async () => {
    const loopbackPort = (hostLoopback.address() as { port: number }).port;
    const anyPort = (hostAny.address() as { port: number }).port;
    const hostIp = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
    const probe = (host: string, port: number) =>
      `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "${host}", PeerPort => ${port}, Timeout => 1); print $s ? "ESCAPE-connect ${host}:${port} " . <$s> : "refused ${host}\\n"'`;
    const script = [
      `cat ${secret} 2>/dev/null && echo ESCAPE-file`,
      `cat /proc/1/root${secret} 2>/dev/null && echo ESCAPE-proc-root`,
      'ls /proc/1/root/work 2>/dev/null && echo ESCAPE-work',
      probe('127.0.0.1', loopbackPort),
      probe('10.213.0.1', loopbackPort),
      probe('10.213.0.1', anyPort),
      probe(hostIp, anyPort),
      'echo done',
    ].join('; ');
    const r = await run(['sh', '-c', script], { network: { mode: 'nat' } });
    expect(r.stdout).not.toContain('ESCAPE');
    expect(r.stdout.match(/^refused /gm)).toHaveLength(4);
    expect(r.stdout).toContain('done');
    // The services do answer the host itself: the probe above could have succeeded.
    expect(await canConnect(loopbackPort)).toBe(true);
  });
});

describe('published ports', () => {
  it('answers on 127.0.0.1 for 80 and 443 of one container at once', async () => {
    const ac = new AbortController();
    const server =
      'use IO::Socket::IP; for my $p (80, 443) { if (!fork) { my $s = IO::Socket::IP->new(LocalHost => "::", LocalPort => $p, Listen => 5, ReuseAddr => 1, V6Only => 0) or die "listen $p: $!"; ' +
      'while (my $c = $s->accept) { print $c "HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nport $p\\n"; close $c } exit } } wait; wait';
    let attached: NetworkAttachment | undefined;
    const answers: string[] = [];
    const pending = run(['perl', '-e', server], {
      network: { mode: 'nat', ports: [parsePortMapping('127.0.0.1:0:80'), parsePortMapping('0:443/tcp')] },
      signal: ac.signal,
      timeoutMs: 30_000,
      onStarted: (info) => {
        attached = info.network;
        void (async () => {
          try {
            for (const p of attached!.ports) {
              for (let i = 0; i < 50 && !(await canConnect(p.hostPort)); i++) await new Promise((r) => setTimeout(r, 50));
              answers.push(await httpGet(p.hostPort));
            }
          } finally {
            ac.abort();
          }
        })();
      },
    });
    const r = await pending;
    expect(r.result.reason).toBe('cancelled');
    expect(attached!.ports.map((p) => p.containerPort)).toEqual([80, 443]);
    expect(attached!.ports.every((p) => p.hostPort > 0)).toBe(true);
    expect(answers).toEqual(['port 80\n', 'port 443\n']);
    // Unpublished once the container is gone.
    expect(await canConnect(attached!.ports[0]!.hostPort)).toBe(false);
  });

  it('lets containers reach each other only through published ports', async () => {
    const ac = new AbortController();
    const server =
      'use IO::Socket::IP; my $s = IO::Socket::IP->new(LocalHost => "::", LocalPort => 80, Listen => 5, ReuseAddr => 1, V6Only => 0) or die; ' +
      'while (my $c = $s->accept) { print $c "neighbour\\n"; close $c }';
    const hostIp = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    expect(hostIp).toBeDefined();
    let probe: RunInOverlay | undefined;
    const probeScript = (host: string, port: number) =>
      `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "${host}", PeerPort => ${port}, Timeout => 1); print $s ? "reached ${host} " . <$s> : "refused ${host}\\n"'`;
    const serverRun = run(['perl', '-e', server], {
      network: { mode: 'nat', ports: [parsePortMapping('0:80')] },
      signal: ac.signal,
      timeoutMs: 30_000,
      onStarted: (info) => {
        void (async () => {
          try {
            const port = info.network!.ports[0]!.hostPort;
            for (let i = 0; i < 50 && !(await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 50));
            probe = await run(['sh', '-c', [probeScript(info.network!.address, 80), probeScript(hostIp!, port)].join('; ')], { network: { mode: 'nat' } });
          } finally {
            ac.abort();
          }
        })();
      },
    });
    expect((await serverRun).result.reason).toBe('cancelled');
    expect(probe!.stdout.split('\n')).toEqual([expect.stringMatching(/^refused 10\.213\./), `reached ${hostIp} neighbour`]);
  });
});
