// A Debian rootfs with nginx and a self-signed certificate, built once (apt-get in a sandbox on a
// copy of the cached debootstrap tree) and cached under /var/cache/berth-test, keyed by the recipe's
// hash so a changed recipe builds a new tree. Already shifted into the user-namespace range.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSandboxed } from '../../runner/sandbox/run';
import { ensureShiftedRootfs, TEST_CACHE_DIR, withFileLock } from './rootfs';
import { createContainerFixture } from './containers';

export const NGINX_SITE = `server {
  listen 80;
  listen [::]:80;
  listen 443 ssl;
  ssl_certificate /etc/nginx/berth.crt;
  ssl_certificate_key /etc/nginx/berth.key;
  location / { return 200 "hello from berth on $server_port\\n"; }
}
`;

const RECIPE = [
  'set -e',
  'export DEBIAN_FRONTEND=noninteractive',
  'apt-get update -qq',
  'apt-get install -y -qq --no-install-recommends nginx-light openssl >/dev/null',
  'openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost -keyout /etc/nginx/berth.key -out /etc/nginx/berth.crt 2>/dev/null',
  `printf '%s' '${NGINX_SITE}' > /etc/nginx/sites-enabled/default`,
  'nginx -t',
  'apt-get clean; rm -rf /var/lib/apt/lists/*',
].join('\n');

export async function ensureNginxRootfs(): Promise<string> {
  const base = await ensureShiftedRootfs();
  const key = createHash('sha256').update(base).update(RECIPE).digest('hex').slice(0, 12);
  const dir = join(TEST_CACHE_DIR, `rootfs-nginx-${key}`);
  if (existsSync(dir)) return dir;
  return withFileLock(dir, async () => {
    if (existsSync(dir)) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const cp = spawnSync('cp', ['-a', base, tmp]);
    if (cp.status !== 0) throw new Error(`Cannot copy the base rootfs: ${cp.stderr.toString()}`);
    const fx = createContainerFixture();
    const home = mkdtempSync(join(tmpdir(), 'berth-nginx-build-'));
    chmodSync(home, 0o711);
    const output: string[] = [];
    try {
      const result = await runSandboxed({
        home,
        rootfs: tmp,
        process: { args: ['/bin/sh', '-c', RECIPE], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/', uid: 0, gid: 0 },
        network: { mode: 'nat' },
        networkSettings: fx.networkSettings,
        resolvConf: fx.resolvConf,
        timeoutMs: 300_000,
        onOutput: (_s, line) => output.push(line),
      });
      if (result.exitCode !== 0) throw new Error(`Cannot install nginx in the test rootfs: ${result.reason}: ${output.slice(-20).join('\n')}`);
    } finally {
      fx.remove();
      rmSync(home, { recursive: true, force: true });
    }
    renameSync(tmp, dir);
    return dir;
  });
}
