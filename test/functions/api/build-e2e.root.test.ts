// The "done when", end to end: a multi-stage Dockerfile and its context uploaded as
// multipart through the REST API build on a real runner (the Builder on runc) to `succeeded`; the
// build's image reference and digest read back, its log reads back with its steps, and the image
// is listed with its tag. The debootstrapped base comes from the machine's cache.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuilder } from '../../../runner/build/builder';
import { startQueueWorker, type QueueWorker } from '../../../runner/queue/worker';
import { openTestApp } from './test-client';

const t = openTestApp();
const suffix = Math.random().toString(36).slice(2, 8);
const home = mkdtempSync(join(tmpdir(), `berth-api-e2e-${suffix}-`));
chmodSync(home, 0o711);
let worker: QueueWorker;

beforeAll(() => {
  const runnerId = `run_api_e2e_${suffix}`;
  const { handler } = createBuilder({ home, runnerId, env: { ...t.stack.env, BERTH_PUBLIC_URL: 'http://127.0.0.1:8080', BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap' } });
  worker = startQueueWorker({ db: t.db, sql: t.sql, runnerId, handlers: { build: handler }, concurrency: 1, leaseMs: 30_000 });
});

afterAll(async () => {
  await worker?.stop(5_000);
  rmSync(home, { recursive: true, force: true });
  await t.sql.end();
});

function contextTar(files: Record<string, string>): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), `berth-api-ctx-${suffix}-`));
  try {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), content, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
    }
    execFileSync('tar', ['-C', dir, '-czf', join(dir, '..', `ctx-${suffix}.tgz`), '.']);
    return new Uint8Array(readFileSync(join(dir, '..', `ctx-${suffix}.tgz`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(dir, '..', `ctx-${suffix}.tgz`), { force: true });
  }
}

describe('a build uploaded through the API', () => {
  it('builds a multi-stage Dockerfile to succeeded, with its steps in the log', async () => {
    const app = await t.createAppNamed(t.stack.adminToken, 'e2e');
    const form = new FormData();
    form.append('dockerfile', 'FROM debian:bookworm AS build\nARG WHO=world\nCOPY greet.sh /src/\nRUN /src/greet.sh "$WHO" > /src/out.txt\n\nFROM debian:bookworm\nCOPY --from=build /src/out.txt /srv/out.txt\nCMD ["cat", "/srv/out.txt"]\n');
    form.append('context', new Blob([contextTar({ 'greet.sh': '#!/bin/sh\necho "hello $1"\n' }) as Uint8Array<ArrayBuffer>]), 'context.tar.gz');
    form.append('buildArg', 'WHO=berth');
    const res = await t.call(t.stack.adminToken, 'POST', `/api/v1/apps/${app}/builds`, form);
    expect(res.status).toBe(202);
    const { id } = await res.json();

    let build: { status: string; imageRef: string | null; digest: string | null; error: string | null } | undefined;
    for (const end = Date.now() + 240_000; Date.now() < end; ) {
      build = await (await t.call(t.stack.adminToken, 'GET', `/api/v1/builds/${id}`)).json();
      if (['succeeded', 'failed', 'cancelled'].includes(build!.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const log = await (await t.call(t.stack.adminToken, 'GET', `/api/v1/builds/${id}/logs`)).text();
    expect(build!.status, log).toBe('succeeded');
    expect(build!.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(build!.imageRef).toBe(`127.0.0.1:8080/admin/${app}:latest`);
    expect(log).toContain('FROM debian:bookworm AS build');
    expect(log).toContain('RUN /src/greet.sh "$WHO" > /src/out.txt');
    expect(log).toContain('COPY --from=build /src/out.txt /srv/out.txt');
    expect(log).toContain(`Successfully built ${build!.digest}`);

    const tags = await (await t.call(t.stack.adminToken, 'GET', `/api/v1/images/admin/${app}/tags`)).json();
    expect(tags.items).toEqual([expect.objectContaining({ name: 'latest', digest: build!.digest, reference: `127.0.0.1:8080/admin/${app}:latest` })]);
  });
});
