// The git endpoints under workerd (wrangler dev): pack parsing, inflate, SHA-1 and the streamed
// answer on the Workers runtime, against the test stack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { findAccountByName } from '../../../db/queries/accounts';
import { apps } from '../../../db/schema';
import { newId } from '../../../functions/core/ids';
import { startWranglerDev, type WranglerDev } from '../../support/wrangler-dev';
import { commitFiles, git, gitOk, initRepo } from './git-server';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
const work = mkdtempSync(join(tmpdir(), 'berth-git-worker-'));
let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev(stack.env);
}, 120_000);
afterAll(async () => {
  await dev?.stop();
  await sql.end();
  rmSync(work, { recursive: true, force: true });
});

describe('git on workerd', () => {
  it('takes a push and an incremental thin push, and serves a clone', async () => {
    const account = await findAccountByName(db, 'admin');
    const name = `gitw-${newId('t', 8).slice(2)}`;
    await db.insert(apps).values({ id: newId('app'), accountId: account!.id, name, deployBranch: 'production' });
    const url = `${dev.url.replace('://', `://admin:${stack.adminToken}@`)}/admin/${name}.git`;
    const big = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const dir = initRepo(join(work, 'src'), { 'big.txt': big });
    expect((await git(dir, ['push', url, 'main'])).status).toBe(0);
    const head = commitFiles(dir, { 'big.txt': big.replace('line 5\n', 'line five\n') }, 'edit');
    const second = await git(dir, ['push', url, 'main']);
    expect(second.status).toBe(0);
    const clone = join(work, 'clone');
    expect((await git(work, ['clone', '-q', url, clone])).status).toBe(0);
    expect(gitOk(clone, ['rev-parse', 'HEAD']).trim()).toBe(head);
    expect(gitOk(clone, ['fsck', '--strict'])).toBe('');
  });
});
