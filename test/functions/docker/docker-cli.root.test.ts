// The unmodified docker CLI (legacy builder) against Berth's Engine API, with a real runner in this
// process (builds and containers under runc); see test/support/docker-cli.ts.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../infra/services';
import { useDockerCli } from '../../support/docker-cli';

const cli = useDockerCli();
const { docker, writeContext, home, dockerConfig, suffix } = cli;
const img = `dk${suffix}`;

/** The server in the container listens a moment after it starts (as with Docker). */
async function fetchWhenListening(url: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const body = await fetch(url).then((r) => r.text(), () => '');
    if (body) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  return '';
}

describe('docker CLI against Berth', () => {
  it('reports the server in docker version and docker info', async () => {
    const v = await docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toMatch(/^0\.1\.0-berth 1\.\d+$/);
    const info = await docker(['info', '--format', '{{.OperatingSystem}} {{.OSType}}']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout.trim()).toBe('Berth linux');
  });

  it('refuses a request without the token, naming how to send it', async () => {
    const r = await fetch(`${cli.dockerHost.replace('tcp', 'http')}/v1.47/containers/json`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { message: string }).message).toContain('HttpHeaders');
  });

  it('answers an endpoint it does not serve at once, naming it', async () => {
    const r = await fetch(`${cli.dockerHost.replace('tcp', 'http')}/v1.47/volumes`, { headers: { authorization: `Bearer ${cli.adminToken}` } });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { message: string }).message).toBe("GET /volumes is not supported by Berth's Docker Engine API");
  });

  it('builds a multi-stage Dockerfile, streaming its steps, and lists the image', async () => {
    const ctx = writeContext({
      Dockerfile: 'FROM debian:bookworm AS build\nARG GREETING=hello\nRUN echo "$GREETING from build" > /msg.txt\nFROM debian:bookworm\nCOPY --from=build /msg.txt /msg.txt\nCOPY app.sh /app.sh\nCMD ["sh", "/app.sh"]\n',
      'app.sh': 'cat /msg.txt\necho "args: $*"\nexit 3\n',
    });
    const b = await docker(['build', '-t', img, '--build-arg', 'GREETING=hi', ctx], { timeoutMs: 300_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('Step 1/7 : FROM debian:bookworm AS build');
    expect(b.stdout).toContain('Step 5/7 : COPY --from=build /msg.txt /msg.txt');
    const id = /Successfully built ([0-9a-f]{12})/.exec(b.stdout)?.[1];
    expect(id).toBeDefined();
    expect(b.stdout).toContain(`Successfully tagged ${img}:latest`);
    const images = await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    expect(images.stdout.split('\n')).toContain(`${img}:latest ${id}`);
    expect((await docker(['tag', img, `${img}:v2`])).code).toBe(0);
    expect((await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout.split('\n')).toContain(`${img}:v2 ${id}`);
    const rmi = await docker(['rmi', `${img}:v2`]);
    expect(rmi.stdout).toBe(`Untagged: ${img}:v2\n`);
    const run = await docker(['run', '--rm', img, 'sh', '/app.sh', 'a', 'b']);
    expect(run.stdout).toBe('hi from build\nargs: a b\n');
    expect(run.code).toBe(3);
  }, 300_000);

  it('builds a target stage of a Dockerfile kept outside the context', async () => {
    const ctx = writeContext({ 'unused.txt': 'x' });
    const dockerfile = join(home, 'outside.Dockerfile');
    writeFileSync(dockerfile, 'FROM debian:bookworm AS first\nRUN echo first > /which\nFROM debian:bookworm\nRUN echo second > /which\n');
    const b = await docker(['build', '-q', '-t', `${img}-target`, '-f', dockerfile, '--target', 'first', ctx], { timeoutMs: 120_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await docker(['run', '--rm', `${img}-target`, 'cat', '/which'])).stdout).toBe('first\n');
  }, 120_000);

  it('shows the failing Dockerfile line when a build fails', async () => {
    const ctx = writeContext({ Dockerfile: 'FROM debian:bookworm\nRUN echo about to fail && exit 4\n' });
    const b = await docker(['build', '-t', `${img}-bad`, ctx], { timeoutMs: 120_000 });
    expect(b.code).toBe(1);
    expect(b.stderr + b.stdout).toContain('Step 2/2 : RUN echo about to fail && exit 4');
    expect(b.stderr).toContain('returned a non-zero code: 4');
  }, 120_000);

  it('runs a container with its stdout and stderr apart and its exit code', async () => {
    const r = await docker(['run', '--rm', img, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(5);
    const stdin = await docker(['run', '-i', '--rm', img, 'sh', '-c', 'read x; echo "got $x"'], { input: 'typed\n' });
    expect(stdin.stdout).toBe('got typed\n');
    expect(stdin.code).toBe(0);
  }, 120_000);

  it('serves a detached container on a published port; logs, ps, exec, stop and rm', async () => {
    const ctx = writeContext({
      Dockerfile: 'FROM debian:bookworm\nCOPY serve.pl /serve.pl\nCMD ["perl", "/serve.pl"]\n',
      'serve.pl':
        'use IO::Socket::INET; $| = 1;\nmy $s = IO::Socket::INET->new(LocalPort => 80, Listen => 5, ReuseAddr => 1) or die "listen: $!";\nprint "listening\\n";\nwhile (my $c = $s->accept) { my $r = <$c>; print "request: $r"; print $c "HTTP/1.0 200 OK\\r\\n\\r\\nhello from berth\\n"; close $c; }\n',
    });
    expect((await docker(['build', '-q', '-t', `${img}-web`, ctx], { timeoutMs: 120_000 })).code).toBe(0);
    const hostPort = await freePort();
    const name = `web-${suffix}`;
    const run = await docker(['run', '-d', '--name', name, '-p', `${hostPort}:80`, `${img}-web`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(await fetchWhenListening(`http://127.0.0.1:${hostPort}/hello`)).toBe('hello from berth\n');
    const ps = await docker(['ps', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}} {{.Ports}}']);
    expect(ps.stdout).toMatch(new RegExp(`^${name} Up .* 0\\.0\\.0\\.0:${hostPort}->80/tcp\\n$`));
    // Output reaches the log a moment after it is written (the runner tails it).
    let logs = await docker(['logs', name]);
    for (let i = 0; i < 30 && !logs.stdout.includes('request: GET /hello'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = await docker(['logs', name]);
    }
    expect(logs.stdout).toContain('request: GET /hello HTTP/1.1');
    const exec = await docker(['exec', name, 'sh', '-c', 'head -c 3 /serve.pl; exit 6']);
    expect(exec.stdout).toBe('use');
    expect(exec.code).toBe(6);
    const restart = await docker(['restart', '-t', '1', name]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(await fetchWhenListening(`http://127.0.0.1:${hostPort}/again`)).toBe('hello from berth\n');
    const follow = docker(['logs', '-f', name], { timeoutMs: 30_000 });
    const stop = await docker(['stop', '-t', '1', name]);
    expect(stop.code, stop.stderr).toBe(0);
    const followed = await follow;
    expect(followed.code).toBe(0); // -f ended with the container
    expect(followed.stdout).toContain('listening');
    expect((await docker(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(/^Exited/);
    expect((await docker(['rm', name])).code).toBe(0);
    expect((await docker(['ps', '-a', '--filter', `name=${name}`, '-q'])).stdout).toBe('');
  }, 180_000);

  it('runs an interactive shell on a terminal: typed input, the size of the client, the exit code of the shell', async () => {
    // `script` (util-linux) gives the docker CLI a pseudo-terminal of 31x97, as a user's would be.
    const child = spawn('script', ['-q', '-e', '-c', `stty rows 31 cols 97; exec docker run -it --rm ${img} sh`, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_HOST: cli.dockerHost, DOCKER_CONFIG: dockerConfig, SHELL: '/bin/sh' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const until = async (text: string) => {
      for (let i = 0; i < 200 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      return out.includes(text);
    };
    expect(await until('# '), out).toBe(true);
    child.stdin.write('echo typed-$((6*7)); tty\n');
    expect(await until('typed-42'), out).toBe(true);
    // The CLI sends its size just after the start, racing the first prompt: ask until it has landed.
    for (let i = 0; i < 20 && !out.includes('31 97'); i++) {
      child.stdin.write('stty size\n');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(out).toContain('31 97');
    child.stdin.write('exit 7\n');
    const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
    child.kill('SIGKILL');
    expect(out).toMatch(/\/dev\/pts\/0\r?\n/);
    expect(code, out).toBe(7);
  }, 60_000);

  it('delivers the signal docker kill names to PID 1; SIGKILL ends the container', async () => {
    const name = `sig-${suffix}`;
    const script = 'trap "echo got-hup" HUP; trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done';
    expect((await docker(['run', '-d', '--name', name, img, 'sh', '-c', script])).code).toBe(0);
    const logsUntil = async (text: string) => {
      for (let i = 0; i < 50; i++) {
        const l = await docker(['logs', name]);
        if (l.stdout.includes(text)) return l.stdout;
        await new Promise((r) => setTimeout(r, 100));
      }
      return (await docker(['logs', name])).stdout;
    };
    expect(await logsUntil('ready')).toContain('ready');
    expect((await docker(['kill', '-s', 'HUP', name])).code).toBe(0);
    expect((await docker(['kill', '--signal', '10', name])).code).toBe(0);
    expect(await logsUntil('got-usr1')).toMatch(/got-hup\n(.|\n)*got-usr1\n/);
    const bad = await docker(['kill', '-s', 'NOPE', name]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Invalid signal: NOPE');
    expect((await docker(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(/^Up/);
    expect((await docker(['kill', name])).code).toBe(0);
    const waited = await docker(['wait', name]);
    expect(waited.stdout.trim()).toBe('137');
    expect((await docker(['rm', name])).code).toBe(0);
  }, 60_000);

  it('passes the end of input on to a container run with -i', async () => {
    const r = await docker(['run', '-i', '--rm', img, 'sh', '-c', 'wc -c; echo after-eof'], { input: 'twelve bytes' });
    expect(r.stdout).toBe('12\nafter-eof\n');
    expect(r.code).toBe(0);
  }, 60_000);

  it('execs interactively: stdin in, output streamed, the exit code back; a terminal when asked', async () => {
    const name = `ex-${suffix}`;
    expect((await docker(['run', '-d', '--name', name, img, 'sleep', '300'])).code).toBe(0);
    const piped = await docker(['exec', '-i', name, 'sh', '-c', 'cat; echo done >&2; exit 3'], { input: 'to the exec' });
    // A user by name, as the container's /etc/passwd has it.
    const asNobody = await docker(['exec', '-u', 'nobody', name, 'id', '-un']);
    expect([asNobody.stdout, asNobody.code]).toEqual(['nobody\n', 0]);
    const unknown = await docker(['exec', '-u', 'nosuchuser', name, 'true']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no user "nosuchuser"');
    expect([piped.stdout, piped.stderr, piped.code]).toEqual(['to the exec', 'done\n', 3]);
    const child = spawn('script', ['-q', '-e', '-c', `stty rows 22 cols 71; exec docker exec -it ${name} sh`, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_HOST: cli.dockerHost, DOCKER_CONFIG: dockerConfig, SHELL: '/bin/sh' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // runc sets the exec's terminal size just after its process starts: ask until it has landed.
    for (let i = 0; i < 20 && !out.includes('22 71'); i++) {
      child.stdin.write('stty size\n');
      await new Promise((r) => setTimeout(r, 250));
    }
    child.stdin.write('exit 4\n');
    const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
    child.kill('SIGKILL');
    expect(out).toContain('22 71');
    expect(code, out).toBe(4);
    expect((await docker(['rm', '-f', name])).code).toBe(0);
  }, 90_000);
});
