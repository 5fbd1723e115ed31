// A Debian root filesystem for tests, made once with debootstrap (~30 s) and cached under
// /var/cache/berth-test, plus a copy shifted into the user namespace's id range. A lock file keeps
// parallel test runs (and other helpers' suites) from building the same thing twice.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync, writeSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../../runner/container/shim';
import { DEFAULT_IDMAP, type IdMap } from '../../runner/sandbox/idmap';
import { shiftOwnership } from '../../runner/sandbox/shift';

export const TEST_CACHE_DIR = '/var/cache/berth-test';
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';


/** Run `fn` holding `<path>.lock`; a lock left by a dead process is taken over. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(lock, 'utf8').trim() || '0');
      if (holder > 0 && !isProcessAlive(holder)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`Cannot take lock "${lock}": held by pid ${holder}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`Cannot run "${argv[0]}": exit ${code}: ${stderr.slice(-500)}`))));
  });
}

/** The pristine `debootstrap --variant=minbase <suite>` tree (host ids), built on first use. */
export async function ensureDebootstrapRootfs(suite = 'bookworm', cacheDir = TEST_CACHE_DIR): Promise<string> {
  const dir = join(cacheDir, `rootfs-${suite}`);
  if (existsSync(dir)) return dir;
  mkdirSync(cacheDir, { recursive: true });
  return withFileLock(dir, async () => {
    if (existsSync(dir)) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await run(['debootstrap', '--variant=minbase', suite, tmp, DEBIAN_MIRROR]);
    renameSync(tmp, dir); // atomic: the final name exists only when complete
    return dir;
  });
}

/** A copy of the rootfs with every id shifted by `idmap.hostBase`, for user-namespaced containers. */
export async function ensureShiftedRootfs(suite = 'bookworm', idmap: IdMap = DEFAULT_IDMAP, cacheDir = TEST_CACHE_DIR): Promise<string> {
  const source = await ensureDebootstrapRootfs(suite, cacheDir);
  const dir = join(cacheDir, `rootfs-${suite}-shift${idmap.hostBase}`);
  if (existsSync(dir)) return dir;
  return withFileLock(dir, async () => {
    if (existsSync(dir)) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await run(['cp', '-a', source, tmp]);
    await shiftOwnership(tmp, idmap);
    renameSync(tmp, dir);
    return dir;
  });
}
