// More of the docker CLI against Berth (see docker-cli.root.test.ts): login, image history and
// inspect, top, stats, rename, port, ps filters, logs windows, wait on several, and prune.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAccountByToken } from '../../../db/queries/accounts';
import { freePort } from '../../../infra/services';
import { useDockerCli } from '../../support/docker-cli';
import { ustarOf } from '../../support/ustar';

const cli = useDockerCli();
const { docker, writeContext, suffix } = cli;
const img = `dkm${suffix}`;

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, tries = 50): Promise<T> {
  let v = await read();
  for (let i = 0; i < tries && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

describe('more of the docker CLI against Berth', () => {
  it('logs in to Berth\'s registry with the account name and an API token, and refuses a wrong one', async () => {
    const account = (await findAccountByToken(cli.db, cli.adminToken))!.account;
    // A config of its own: login rewrites config.json, which must keep the engine's header.
    const config = join(cli.home, 'login-config');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${cli.adminToken}` } }));
    const env = { DOCKER_CONFIG: config };
    const ok = await docker(['login', '127.0.0.1:8080', '-u', account.name, '--password-stdin'], { input: cli.adminToken, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    const stored = JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }>; HttpHeaders: unknown };
    expect(Buffer.from(stored.auths['127.0.0.1:8080']!.auth, 'base64').toString()).toBe(`${account.name}:${cli.adminToken}`);
    expect(stored.HttpHeaders).toEqual({ Authorization: `Bearer ${cli.adminToken}` });
    const wrong = await docker(['login', '127.0.0.1:8080', '-u', account.name, '--password-stdin'], { input: 'not-a-token', env });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('unauthorized: the account name or API token is wrong');
    const elsewhere = await docker(['login', 'ghcr.io', '-u', account.name, '--password-stdin'], { input: cli.adminToken, env });
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain('use "docker login 127.0.0.1:8080"');
  });

  it('shows an image\'s history and its config in image inspect', async () => {
    const ctx = writeContext({
      Dockerfile: `FROM debian:bookworm\nLABEL berth.test=${suffix}\nENV GREETING=hello\nWORKDIR /srv\nRUN echo made > /srv/made.txt\nEXPOSE 8080/tcp\nCMD ["sleep", "300"]\n`,
    });
    const b = await docker(['build', '-q', '-t', img, ctx], { timeoutMs: 120_000 });
    expect(b.code, b.stderr).toBe(0);
    const h = await docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', img]);
    expect(h.code, h.stderr).toBe(0);
    const rows = h.stdout.trim().split('\n');
    expect(rows[0]).toMatch(new RegExp(`^${b.stdout.trim()}\\|CMD \\["sleep", ?"300"\\]`));
    const run = rows.find((r) => r.includes('RUN '));
    expect(run).toContain('echo made > /srv/made.txt');
    expect(run).not.toMatch(/\|0B$/);
    expect(rows.at(-1)).toMatch(/^<missing>\|/);
    const i = await docker(['image', 'inspect', '--format', '{{json .Config.Env}}|{{.Config.WorkingDir}}|{{json .Config.ExposedPorts}}|{{json .Config.Cmd}}|{{.Os}}/{{.Architecture}}|{{len .RootFS.Layers}}|{{index .Config.Labels "berth.test"}}|{{.Id}}', img]);
    expect(i.code, i.stderr).toBe(0);
    const [env, wd, ports, cmd, platform, layers, label, id] = i.stdout.trim().split('|');
    expect(JSON.parse(env!)).toContain('GREETING=hello');
    expect([wd, JSON.parse(ports!), JSON.parse(cmd!), platform, label, id]).toEqual(['/srv', { '8080/tcp': {} }, ['sleep', '300'], 'linux/amd64', suffix, b.stdout.trim()]);
    expect(Number(layers)).toBeGreaterThanOrEqual(2);
    const size = await docker(['images', '--format', '{{.Size}}', img]);
    expect(size.stdout.trim()).toMatch(/MB$/);

    // docker save: a tar skopeo reads both as Docker's archive and as an OCI layout, digests checked.
    const saved = join(cli.home, `saved-${suffix}.tar`);
    const save = await docker(['save', '-o', saved, img], { timeoutMs: 60_000 });
    expect(save.code, save.stderr).toBe(0);
    const dockerArchive = spawnSync('skopeo', ['inspect', '--config', `docker-archive:${saved}`], { encoding: 'utf8' });
    expect(dockerArchive.status, dockerArchive.stderr).toBe(0);
    expect((JSON.parse(dockerArchive.stdout) as { config: { Labels: Record<string, string> } }).config.Labels['berth.test']).toBe(suffix);
    const copied = spawnSync('skopeo', ['copy', '--quiet', `oci-archive:${saved}`, `dir:${join(cli.home, `saved-dir-${suffix}`)}`], { encoding: 'utf8' });
    expect(copied.status, copied.stderr).toBe(0);
    const missing = await docker(['save', '-o', join(cli.home, 'none.tar'), `nothing-${suffix}`]);
    expect(missing.stderr).toContain(`No such image: nothing-${suffix}`);

    // docker images filters; pull of an upstream image (fetched at run time); flags Berth cannot honour.
    expect((await docker(['images', '-q', '--filter', 'dangling=true'])).stdout).toBe('');
    expect((await docker(['images', '--format', '{{.Repository}}', img])).stdout).toBe(`${img}\n`);
    expect((await docker(['images', '--format', '{{.Repository}}', '--filter', `label=berth.test=${suffix}`])).stdout).toBe(`${img}\n`);
    expect((await docker(['images', '-q', `nothing-${suffix}`])).stdout).toBe('');
    const pull = await docker(['pull', 'alpine']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain('fetched by the runner when a container starts');
    const readOnly = await docker(['run', '--rm', '--read-only', img, 'true']);
    expect(readOnly.code).toBe(125);
    expect(readOnly.stderr).toContain('Cannot create the container with --read-only: not supported by Berth');

    const df = await docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    expect(df.code, df.stderr).toBe(0);
    expect(df.stdout).toMatch(/^Images [1-9]\d*$/m);
  }, 120_000);

  it('lists a running container\'s processes and usage; renames it; shows its ports; filters ps', async () => {
    const name = `top-${suffix}`;
    const hostPort = await freePort();
    const r = await docker(['run', '-d', '--name', name, '--label', `suite=${suffix}`, '-p', `${hostPort}:8080`, img, 'sh', '-c', 'echo one; echo two; echo three; exec sleep 300']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const top = await docker(['top', name]);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID/);
    expect(top.stdout).toContain('sleep 300');
    const topAux = await docker(['top', name, '-o', 'pid,comm']);
    expect(topAux.stdout).toMatch(/PID\s+COMMAND\n\s*\d+\s+sleep\n/);
    const badPs = await docker(['top', name, '-o', 'pid;reboot']);
    expect(badPs.stderr).toContain('Invalid ps options');
    const stats = await docker(['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}', name]);
    expect(stats.code, stats.stderr).toBe(0);
    const [sName, mem, pids, cpu] = stats.stdout.trim().split('|');
    expect(sName).toBe(name);
    expect(mem).toMatch(/^[\d.]+(KiB|MiB) \/ [\d.]+(MiB|GiB)$/);
    expect(mem).not.toMatch(/^0B/);
    expect(Number(pids)).toBeGreaterThanOrEqual(1);
    expect(cpu).toMatch(/^\d+\.\d+%$/);
    expect((await docker(['port', name])).stdout).toBe(`8080/tcp -> 0.0.0.0:${hostPort}\n`);
    expect((await docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).stdout).toBe('bridge bridge\n');
    const net = await docker(['network', 'inspect', 'bridge', '--format', '{{range .Containers}}{{.Name}} {{end}}']);
    expect(net.stdout).toContain(name);
    expect((await docker(['network', 'inspect', 'nope'])).stderr).toContain('network nope not found');

    const renamed = `renamed-${suffix}`;
    expect((await docker(['rename', name, renamed])).code).toBe(0);
    expect((await docker(['inspect', '--format', '{{.Name}}', id])).stdout.trim()).toBe(`/${renamed}`);
    const again = await docker(['rename', id, renamed]);
    expect(again.stderr).toContain('same name as its current name');
    const bad = await docker(['rename', renamed, 'no/slashes']);
    expect(bad.stderr).toContain('Invalid container name');

    const ps = (args: string[]) => docker(['ps', '-a', ...args, '--format', '{{.Names}}|{{.Label "suite"}}|{{.State}}']);
    expect((await ps(['--filter', `label=suite=${suffix}`])).stdout).toBe(`${renamed}|${suffix}|running\n`);
    expect((await ps(['--filter', `label=suite=${suffix}`, '--filter', 'status=exited'])).stdout).toBe('');
    expect((await ps(['--filter', `ancestor=${img}`, '--filter', `id=${id.slice(0, 12)}`])).stdout).toBe(`${renamed}|${suffix}|running\n`);

    const logs = await until(() => docker(['logs', '--tail', '2', renamed]), (l) => l.stdout === 'two\nthree\n');
    expect(logs.stdout).toBe('two\nthree\n');
    expect((await docker(['logs', '--until', '2000-01-01T00:00:00Z', renamed])).stdout).toBe('');
    expect((await docker(['logs', '--since', '10m', renamed])).stdout).toBe('one\ntwo\nthree\n');
    expect((await docker(['rm', '-f', renamed])).code).toBe(0);
  }, 120_000);

  it('copies files out of and into a container, keeping every path inside its root', async () => {
    const name = `cp-${suffix}`;
    expect((await docker(['run', '-d', '--name', name, img])).code).toBe(0);
    // ps and inspect show what the container got from its image.
    expect((await docker(['ps', '--filter', `name=${name}`, '--format', '{{.Command}}'])).stdout).toBe('"sleep 300"\n');
    const merged = await docker(['inspect', '--format', '{{json .Config.Cmd}} {{.Config.WorkingDir}} {{index .Config.Labels "berth.test"}}', name]);
    expect(merged.stdout).toBe(`["sleep","300"] /srv ${suffix}\n`);
    expect((await docker(['inspect', '--format', '{{json .Config.Env}}', name])).stdout).toContain('GREETING=hello');
    const prep = await docker(['exec', name, 'sh', '-c', `mkdir -p /srv/sub /opt/links && echo deep > /srv/sub/deep.txt && ln -s /srv/made.txt /srv/abs && ln -s ../../../../../srv /opt/links/up && ln -s ../../../../..${cli.home} /opt/links/host`]);
    expect(prep.code, prep.stderr).toBe(0);
    const out = join(cli.home, `cp-out-${suffix}`);
    mkdirSync(out);
    const file = await docker(['cp', `${name}:/srv/made.txt`, join(out, 'made.txt')]);
    expect(file.code, file.stderr).toBe(0);
    expect(readFileSync(join(out, 'made.txt'), 'utf8')).toBe('made\n');
    const dir = await docker(['cp', `${name}:/srv`, join(out, 'srv')]);
    expect(dir.code, dir.stderr).toBe(0);
    expect(readFileSync(join(out, 'srv', 'sub', 'deep.txt'), 'utf8')).toBe('deep\n');
    expect(readlinkSync(join(out, 'srv', 'abs'))).toBe('/srv/made.txt');
    // A link climbing above the root stops at it; one to a host path finds nothing there.
    const up = await docker(['cp', `${name}:/opt/links/up/sub/deep.txt`, '-']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('deep\n');
    const host = await docker(['cp', `${name}:/opt/links/host/login-config/config.json`, join(out, 'leak')]);
    expect(host.code).not.toBe(0);
    expect(host.stderr).toContain('Could not find the file');
    expect(existsSync(join(out, 'leak'))).toBe(false);
    const exported = join(out, 'export.tar');
    expect((await docker(['export', '-o', exported, name])).code).toBe(0);
    const listing = spawnSync('tar', ['-tf', exported], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(listing.stdout.split('\n')).toEqual(expect.arrayContaining(['./srv/made.txt', './etc/os-release']));
    const missing = await docker(['cp', `${name}:/nope`, out]);
    expect(missing.stderr).toContain('Could not find the file /nope');

    // Into the container: a directory under a new name, a file into a directory; owned by its root.
    const src = join(out, 'src');
    mkdirSync(join(src, 'nested'), { recursive: true });
    writeFileSync(join(src, 'nested', 'n.txt'), 'nested\n');
    writeFileSync(join(out, 'one.txt'), 'one\n');
    const inDir = await docker(['cp', src, `${name}:/srv/in`]);
    expect(inDir.code, inDir.stderr).toBe(0);
    expect((await docker(['cp', join(out, 'one.txt'), `${name}:/srv/`])).code).toBe(0);
    const seen = await docker(['exec', name, 'sh', '-c', 'cat /srv/in/nested/n.txt /srv/one.txt; stat -c %u:%g /srv/one.txt']);
    expect(seen.stdout).toBe('nested\none\n0:0\n');
    const notDir = await docker(['cp', join(out, 'one.txt'), `${name}:/srv/made.txt/x`]);
    expect(notDir.code).not.toBe(0);

    // A hostile archive: a link out of the root, then an entry through it; an entry climbing with '..'.
    const evil = join(out, 'evil');
    mkdirSync(evil);
    symlinkSync('../../../../../../../../srv', join(evil, 'link'));
    const evilTar = join(out, 'evil.tar');
    expect(spawnSync('tar', ['-cf', evilTar, '-C', evil, 'link']).status).toBe(0);
    const through = Buffer.concat([readFileSync(evilTar).subarray(0, -1024), ustarOf({ [`link/landed-${suffix}.txt`]: 'landed\n' })]);
    const api = `${cli.dockerHost.replace('tcp', 'http')}/v1.47/containers/${name}/archive?path=/opt`;
    const headers = { authorization: `Bearer ${cli.adminToken}`, 'content-type': 'application/x-tar' };
    expect((await fetch(api, { method: 'PUT', headers, body: new Uint8Array(through) })).status).toBe(200);
    expect(existsSync(`/srv/landed-${suffix}.txt`)).toBe(false);
    expect((await docker(['exec', name, 'cat', `/srv/landed-${suffix}.txt`])).stdout).toBe('landed\n');
    const climb = await fetch(api, { method: 'PUT', headers, body: new Uint8Array(ustarOf({ '../../../../climbed.txt': 'x' })) });
    expect(climb.status).toBe(400);
    expect(((await climb.json()) as { message: string }).message).toContain('climbs out of the destination');
    const junk = await fetch(api, { method: 'PUT', headers, body: 'not a tar at all'.repeat(64) });
    expect(junk.status).toBe(400);
    expect((await docker(['rm', '-f', name])).code).toBe(0);
  }, 60_000);

  it('waits on several containers; prunes stopped containers and unused images', async () => {
    const a = await docker(['run', '-d', '--label', `prune=${suffix}`, img, 'sh', '-c', 'exit 2']);
    const b = await docker(['run', '-d', '--label', `prune=${suffix}`, img, 'sh', '-c', 'sleep 0.5; exit 3']);
    const keep = await docker(['create', '--label', `other=${suffix}`, img]);
    const waited = await docker(['wait', a.stdout.trim(), b.stdout.trim()]);
    expect(waited.stdout).toBe('2\n3\n');
    const pruned = await docker(['container', 'prune', '-f', '--filter', `label=prune=${suffix}`]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(a.stdout.trim());
    expect(pruned.stdout).toContain(b.stdout.trim());
    expect((await docker(['ps', '-a', '-q', '--filter', `label=prune=${suffix}`])).stdout).toBe('');
    expect((await docker(['ps', '-a', '-q', '--filter', `label=other=${suffix}`])).stdout.trim()).toBe(keep.stdout.trim().slice(0, 12));
    const badFilter = await docker(['container', 'prune', '-f', '--filter', 'colour=red']);
    expect(badFilter.stderr).toContain("Invalid filter 'colour'");
    // The image is still used by the created container: -a keeps it until that is gone.
    const kept = await docker(['image', 'prune', '-a', '-f', '--filter', `label=berth.test=${suffix}`]);
    expect(kept.code, kept.stderr).toBe(0);
    expect((await docker(['images', '-q', img])).stdout.trim()).not.toBe('');
    expect((await docker(['rm', keep.stdout.trim()])).code).toBe(0);
    // Containers an earlier test left behind (had it failed) would keep the image in use.
    for (const left of (await docker(['ps', '-aq', '--filter', `ancestor=${img}`])).stdout.split('\n').filter(Boolean)) await docker(['rm', '-f', left]);
    const gone = await docker(['image', 'prune', '-a', '-f', '--filter', `label=berth.test=${suffix}`]);
    expect(gone.stdout).toContain(`untagged: ${img}:latest`);
    expect((await docker(['images', '-q', img])).stdout.trim()).toBe('');
  }, 120_000);
});
