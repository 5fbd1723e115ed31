// A private PostgreSQL cluster under the state dir: initdb once, then started and stopped with Berth.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { isProcessAlive } from '../runner/container/shim';

const PG_BIN = process.env.BERTH_PG_BIN ?? findPgBin();

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

function findPgBin(): string {
  for (const v of ['17', '16', '15']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(dir, 'postgres'))) return dir;
  }
  return '/usr/lib/postgresql/15/bin';
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** Runs a PostgreSQL binary as the `postgres` user: the server refuses to run as root. */
function pgArgv(bin: string, args: string[]): string[] {
  const exe = join(PG_BIN, bin);
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', exe, ...args] : [exe, ...args];
}

function run(argv: string[]): void {
  execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startEmbeddedPostgres(opts: { dir: string; port: number; fsync?: boolean; log?: (s: string) => void }): Promise<EmbeddedPostgres> {
  const { dir, port } = opts;
  const data = join(dir, 'data');
  const sock = join(dir, 'run');
  const pwFile = join(dir, 'password');
  mkdirSync(sock, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  if (!existsSync(join(data, 'PG_VERSION'))) {
    rmSync(data, { recursive: true, force: true });
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const password = randomBytes(18).toString('base64url');
    writeFileSync(pwFile, password + '\n', { mode: 0o600 });
    if (owner) {
      chownSync(dir, owner.uid, owner.gid);
      chownSync(data, owner.uid, owner.gid);
      chownSync(pwFile, owner.uid, owner.gid);
    }
    run(pgArgv('initdb', ['-D', data, '-U', 'berth', `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8']));
  }
  if (owner) chownSync(sock, owner.uid, owner.gid);
  const password = readFileSync(pwFile, 'utf8').trim();
  // A previous run killed hard leaves its pid file behind; pg_ctl start copes, a stale postmaster.pid of a
  // live process means another Berth owns this state dir.
  const pidFile = join(data, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && isProcessAlive(pid)) throw new Error(`Cannot start PostgreSQL: process ${pid} already runs the cluster in ${data}`);
    rmSync(pidFile, { force: true });
  }
  const options = [
    `-p ${port}`,
    `-c listen_addresses=127.0.0.1`,
    `-c unix_socket_directories=${sock}`,
    `-c max_connections=300`,
    `-c fsync=${opts.fsync === false ? 'off' : 'on'}`,
    `-c shared_buffers=128MB`,
  ].join(' ');
  const logFile = join(dir, 'postgres.log');
  if (owner && existsSync(logFile) && statSync(logFile).uid !== owner.uid) chownSync(logFile, owner.uid, owner.gid);
  run(pgArgv('pg_ctl', ['-D', data, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']));
  const url = `postgres://berth:${encodeURIComponent(password)}@127.0.0.1:${port}/berth`;
  const admin = postgres(`postgres://berth:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`SELECT 1 FROM pg_database WHERE datname = 'berth'`;
    if (rows.length === 0) await admin.unsafe('CREATE DATABASE berth');
  } finally {
    await admin.end();
  }
  opts.log?.(`postgres ready on 127.0.0.1:${port} (data in ${data})`);
  return {
    url,
    async stop() {
      await new Promise<void>((resolve) => {
        const argv = pgArgv('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
        const p = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
        p.on('exit', () => resolve());
        p.on('error', () => resolve());
      });
    },
  };
}

