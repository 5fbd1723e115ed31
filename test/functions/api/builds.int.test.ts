import { GetObjectCommand } from '@aws-sdk/client-s3';
import { eq } from 'drizzle-orm';
import { gzipSync, zipSync } from 'fflate';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { appendLogLines } from '../../../db/queries/logs';
import { builds, jobs } from '../../../db/schema';
import { contextKey } from '../../../functions/storage/blob-store';
import { openTestApp } from './test-client';
import { extract } from 'tar-stream';
import { Readable } from 'node:stream';
import { ustarOf } from '../../support/ustar';

const t = openTestApp({ limits: { contextBytes: 256 * 1024 } });
afterAll(() => t.sql.end());

const MULTI_STAGE = 'FROM debian:bookworm AS build\nRUN echo hi > /out\nFROM debian:bookworm\nCOPY --from=build /out /out\n';

async function readContext(digest: string): Promise<Buffer> {
  const r = await t.platform.s3.send(new GetObjectCommand({ Bucket: t.platform.bucket, Key: contextKey(digest) }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function tarEntries(bytes: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out[h.type === 'directory' ? `${h.name.replace(/\/$/, '')}/` : h.name] = Buffer.concat(chunks).toString();
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from(bytes).pipe(ex);
  await done;
  return out;
}


describe('POST /api/v1/apps/{app}/builds', () => {
  it('takes a dockerfile part and a tar context, stores the context by digest and queues a build job', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const context = ustarOf({ 'hello.txt': 'hello\n' });
    const form = new FormData();
    form.append('dockerfile', new Blob([MULTI_STAGE]), 'Dockerfile');
    form.append('context', new Blob([new Uint8Array(context)]), 'context.tar');
    form.append('buildArgs', JSON.stringify({ VERSION: '1.2' }));
    form.append('buildArg', 'OTHER=x=y');
    form.append('target', 'build');
    form.append('noCache', 'true');
    const res = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form);
    expect(res.status).toBe(202);
    const b = await res.json();
    const digest = `sha256:${createHash('sha256').update(context).digest('hex')}`;
    expect(b).toMatchObject({ status: 'queued', app, contextDigest: digest, target: 'build', noCache: true, buildArgs: { VERSION: '1.2', OTHER: 'x=y' } });
    expect(b.tags).toEqual([`127.0.0.1:8080/${u.name}/${app}:latest`]);
    expect(res.headers.get('location')).toBe(`/api/v1/builds/${b.id}`);
    expect((await readContext(digest)).equals(context)).toBe(true);
    const [row] = await t.db.select().from(builds).where(eq(builds.id, b.id));
    expect(row).toMatchObject({ dockerfile: MULTI_STAGE, contextMediaType: 'application/x-tar', source: 'api' });
    const [job] = await t.db.select().from(jobs).where(eq(jobs.subjectId, b.id));
    expect(job).toMatchObject({ kind: 'build', status: 'queued', payload: { buildId: b.id } });
    const got = await (await t.call(u.token, 'GET', `/api/v1/builds/${b.id}`)).json();
    expect(got).toMatchObject({ id: b.id, status: 'queued', imageRef: null, digest: null });
  });

  it('recognises tar.gz and zip contexts and refuses anything else with 415', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    for (const [bytes, type] of [
      [gzipSync(ustarOf({ a: 'b' })), 'application/gzip'],
      [zipSync({ Dockerfile: new TextEncoder().encode('FROM scratch\n') }), 'application/zip'],
    ] as const) {
      const form = new FormData();
      form.append('context', new Blob([bytes as Uint8Array<ArrayBuffer>]), 'ctx');
      const res = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form);
      expect(res.status).toBe(202);
      const [row] = await t.db.select().from(builds).where(eq(builds.id, (await res.json()).id));
      expect(row!.contextMediaType).toBe(type);
    }
    const form = new FormData();
    form.append('context', new Blob(['just some text, not an archive']), 'ctx.txt');
    const res = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form);
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe('unsupported_context');
  });

  it('packs a folder sent as files with relative paths into a tar', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const form = new FormData();
    form.append('files', new Blob(['FROM scratch\nCOPY . /\n']), 'Dockerfile');
    form.append('files', new Blob(['console.log(1)\n']), 'src/index.js');
    const long = `deep/${'d'.repeat(120)}/file.txt`;
    form.append('files', new Blob(['long\n']), long);
    form.append('deploy', 'true');
    const res = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form);
    expect(res.status).toBe(202);
    const b = await res.json();
    expect(b.deployOnSuccess).toBe(true);
    const entries = await tarEntries(await readContext(b.contextDigest));
    expect(entries).toMatchObject({ Dockerfile: 'FROM scratch\nCOPY . /\n', 'src/': '', 'src/index.js': 'console.log(1)\n', [long]: 'long\n' });
  });

  it('refuses folder paths that climb out, and a folder without its Dockerfile', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const bad = new FormData();
    bad.append('files', new Blob(['x']), '../etc/passwd');
    const r1 = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, bad);
    expect(r1.status).toBe(400);
    expect((await r1.json()).error.message).toContain('"../etc/passwd"');
    const none = new FormData();
    none.append('files', new Blob(['x']), 'src/a.txt');
    const r2 = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, none);
    expect(r2.status).toBe(400);
    expect((await r2.json()).error.code).toBe('dockerfile_missing');
  });

  it('takes JSON with the Dockerfile text only, and validates it', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const ok = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM debian:bookworm\nRUN true\n', buildArgs: { A: '1' } });
    expect(ok.status).toBe(202);
    expect((await ok.json()).contextDigest).toBeNull();
    const bad = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: '', target: 'no spaces allowed' });
    expect(bad.status).toBe(400);
    const message = (await bad.json()).error.message;
    expect(message).toMatch(/^Invalid request body: /);
    expect(message).toContain('dockerfile: must not be empty');
    expect(message).toContain('target: must be a stage name');
  });

  it('starts one build for two requests with the same Idempotency-Key', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const key = crypto.randomUUID();
    const form = () => {
      const f = new FormData();
      f.append('dockerfile', 'FROM scratch\n');
      f.append('context', new Blob([new Uint8Array(ustarOf({ a: 'b' }))]), 'c.tar');
      return f;
    };
    const first = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form(), { 'idempotency-key': key });
    const again = await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form(), { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await again.json()).id).toBe((await first.json()).id);
    const list = await (await t.call(u.token, 'GET', `/api/v1/apps/${app}/builds`)).json();
    expect(list.items).toHaveLength(1);
  });

  it('refuses an oversized upload early, without reading it all', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const boundary = 'xBOUNDARYx';
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    // An endless body: only a server that stops at the limit can answer at all.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="context"; filename="c.tar"\r\n\r\n`));
      },
      pull(c) {
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const res = await t.app.request(`/api/v1/apps/${app}/builds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
    expect(sent).toBeLessThan(256 * 1024 + 10 * 64 * 1024);
    const declared = await t.app.request(`/api/v1/apps/${app}/builds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(10 * 1024 * 1024) },
      body: 'x',
    });
    expect(declared.status).toBe(413);
  });

  it('streams a context larger than one S3 part through a multipart upload', async () => {
    const big = openTestApp({ limits: { contextBytes: 64 * 1024 * 1024 } });
    try {
      const u = await big.signUp();
      const app = await big.createAppNamed(u.token);
      const payload = new Uint8Array(9 * 1024 * 1024).map((_, i) => (i * 31) & 255);
      const context = Buffer.concat([ustarOf({ small: 's' }).subarray(0, 512 + 512), Buffer.from(payload)]);
      const form = new FormData();
      form.append('context', new Blob([new Uint8Array(context)]), 'c.tar');
      const res = await big.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, form);
      expect(res.status).toBe(202);
      const b = await res.json();
      expect(b.contextDigest).toBe(`sha256:${createHash('sha256').update(context).digest('hex')}`);
      expect((await readContext(b.contextDigest)).length).toBe(context.length);
    } finally {
      await big.sql.end();
    }
  });
});

describe('builds: list, cancel, logs', () => {
  it('cancels a queued build and refuses to cancel it twice', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const b = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n' })).json();
    const c1 = await t.call(u.token, 'POST', `/api/v1/builds/${b.id}/cancel`);
    expect(c1.status).toBe(202);
    expect((await c1.json()).status).toBe('cancelled');
    const [job] = await t.db.select().from(jobs).where(eq(jobs.subjectId, b.id));
    expect(job!.status).toBe('cancelled');
    const c2 = await t.call(u.token, 'POST', `/api/v1/builds/${b.id}/cancel`);
    expect(c2.status).toBe(409);
    const list = await (await t.call(u.token, 'GET', `/api/v1/apps/${app}/builds?status=cancelled`)).json();
    expect(list.items.map((x: { id: string }) => x.id)).toEqual([b.id]);
  });

  it('serves the log as text and as events that follow the build to its end', async () => {
    const u = await t.signUp();
    const app = await t.createAppNamed(u.token);
    const b = await (await t.call(u.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n' })).json();
    const subject = { kind: 'build' as const, id: b.id };
    await appendLogLines(t.db, subject, [{ line: '#1 [build 1/2] FROM debian' }, { line: '#2 [build 2/2] RUN echo hi' }]);
    const text = await (await t.call(u.token, 'GET', `/api/v1/builds/${b.id}/logs`)).text();
    expect(text).toBe('#1 [build 1/2] FROM debian\n#2 [build 2/2] RUN echo hi\n');

    const res = await t.call(u.token, 'GET', `/api/v1/builds/${b.id}/logs`, undefined, { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let seen = '';
    const readUntil = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${seen}`);
        seen += new TextDecoder().decode(value);
      }
    };
    await readUntil('RUN echo hi');
    // The runner's write path, while the client follows:
    await appendLogLines(t.db, subject, [{ line: '#3 exporting image' }]);
    await readUntil('#3 exporting image');
    await t.db.update(builds).set({ status: 'succeeded', imageRef: 'x/y:latest', manifestDigest: 'sha256:abc' }) // as the Builder records it: no host.where(eq(builds.id, b.id));
    await readUntil('"error":null}\n\n');
    expect(seen).toMatch(/event: end\ndata: \{"status":"succeeded","imageRef":"127.0.0.1:8080\/x\/y:latest","digest":"sha256:abc"/);
    expect((await reader.read()).done).toBe(true);
    const lineIds = [...seen.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(lineIds).toHaveLength(3);
    // Resuming after the second line gives only the third.
    const resumed = await (await t.call(u.token, 'GET', `/api/v1/builds/${b.id}/logs?follow=true`, undefined, { 'last-event-id': String(lineIds[1]) })).text();
    expect(resumed).toContain('#3 exporting image');
    expect(resumed).not.toContain('RUN echo hi');
  });
});
