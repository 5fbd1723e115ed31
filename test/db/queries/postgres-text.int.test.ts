// Text from users' programs may hold NUL, which Postgres text refuses: a build whose RUN printed one,
// or whose error quoted one, once lost its log batch and never settled (the job's failure could not
// be written, its lease lapsed, the build row stayed `running`).
import { afterAll, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { claimNextJob, enqueueJob, failJob, getJob, leaseOf } from '../../../db/queries/jobs';
import { appendLogLines, readLogLines } from '../../../db/queries/logs';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
afterAll(() => sql.end());

it('stores log lines and job errors that hold NUL, the NUL replaced', async () => {
  const id = `nul-${Math.random().toString(36).slice(2, 10)}`;
  await appendLogLines(db, { kind: 'build', id }, [{ line: 'before' }, { line: 'bin\0ary' }]);
  expect((await readLogLines(db, { kind: 'build', id })).map((l) => l.line)).toEqual(['before', 'bin\uFFFDary']);

  const k = `test.nul.${Math.random().toString(36).slice(2, 8)}`;
  const job = await enqueueJob(db, { kind: k });
  const claimed = (await claimNextJob(db, { runnerId: 'r-nul', leaseMs: 10_000, kinds: [k] }))!;
  expect(await failJob(db, leaseOf(claimed), 'exec "echo \0": failed')).toBe(true);
  expect(await getJob(db, job.id)).toMatchObject({ status: 'failed', error: 'exec "echo \uFFFD": failed' });
});
