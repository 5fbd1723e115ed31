// Test fixture: the functions' Node entry on a free port against the test stack, an app to push to,
// and a real git client in a temporary directory.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createGitRoutes, type GitHttpOptions } from '../../../functions/git/smart-http';
import { createGitWebhook } from '../../../functions/git/webhook';
import { renderError } from '../../../functions/core/errors';
import type { AppEnv, Platform } from '../../../functions/platform';
import { createDb } from '../../../db/client';
import { findAccountByName } from '../../../db/queries/accounts';
import { newId } from '../../../functions/core/ids';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { apps } from '../../../db/schema';
import { freePort } from '../../../infra/services';
import type { TestStack } from '../../setup/stack';

/** The git routes (smart HTTP and the webhook) as functions/app.ts mounts them, with these options. */
export async function startGitServer(stack: TestStack, options?: GitHttpOptions) {
  const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 6 });
  const s3config = readS3Config(stack.env);
  const port = await freePort();
  const platform: Platform = { db, s3: createS3Client(s3config), bucket: s3config.bucket, publicUrl: `http://127.0.0.1:${port}` };
  // Builds this server queues carry a label only runners of the same test carry: the suite's other
  // runners (other files, other helpers) must not take them, nor this test's runner theirs.
  const jobLabels = options?.jobLabels ?? { 'berth-test': newId('t', 8) };
  const git = new Hono<AppEnv>();
  git.use(async (c, next) => {
    c.set('platform', platform);
    await next();
  });
  git.onError((err, c) => {
    const { status, body } = renderError(err);
    return c.json(body, status as 400);
  });
  git.route('/api/v1/apps', createGitWebhook({ jobLabels }));
  git.route('/', createGitRoutes({ ...options, jobLabels }));
  const server = serve({ fetch: git.fetch, port, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const work = mkdtempSync(join(tmpdir(), 'berth-git-'));
  return {
    db,
    platform,
    port,
    work,
    jobLabels,
    url(app: string, account = 'admin', token = stack.adminToken) {
      return `http://${account}:${token}@127.0.0.1:${port}/${account}/${app}.git`;
    },
    /** An app whose deploy branch (by default 'production') no test pushes unless it means to build. */
    async createApp(opts: { account?: string; deployBranch?: string } = {}) {
      const account = await findAccountByName(db, opts.account ?? 'admin');
      const name = `git-${newId('t', 8).slice(2)}`;
      const [row] = await db.insert(apps).values({ id: newId('app'), accountId: account!.id, name, deployBranch: opts.deployBranch ?? 'production' }).returning();
      return row!;
    },
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await sql.end({ timeout: 5 });
      rmSync(work, { recursive: true, force: true });
    },
  };
}

const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Berth Test',
  GIT_AUTHOR_EMAIL: 'test@berth.invalid',
  GIT_COMMITTER_NAME: 'Berth Test',
  GIT_COMMITTER_EMAIL: 'test@berth.invalid',
};

export interface GitRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs git without blocking (the server under test shares this process); never throws, so a test
 * can assert on refusals.
 */
export function git(cwd: string, args: string[], env: Record<string, string> = {}, onStderr?: (text: string) => void): Promise<GitRun> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd, env: { ...GIT_ENV, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** git on a local repository (no server involved), expecting success. */
export function gitOk(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, env: { ...GIT_ENV, ...env }, encoding: 'utf8' });
}

/** A fresh repository on branch main with the given files committed. */
export function initRepo(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  gitOk(dir, ['init', '-q', '-b', 'main']);
  commitFiles(dir, files, 'initial');
  return dir;
}

export function commitFiles(dir: string, files: Record<string, string>, message: string): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  gitOk(dir, ['add', '-A']);
  gitOk(dir, ['commit', '-q', '-m', message]);
  return gitOk(dir, ['rev-parse', 'HEAD']).trim();
}
