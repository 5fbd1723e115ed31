// A build upload through the Workers entry under `wrangler dev` (workerd): the multipart body is
// parsed and the context streamed to S3 there — in parts, past one S3 part — and the limit holds.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendLogLines } from '../../../db/queries/logs';
import { createDb } from '../../../db/client';
import { builds } from '../../../db/schema';
import { contextKey } from '../../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { startWranglerDev, type WranglerDev } from '../../support/wrangler-dev';
import { eq } from 'drizzle-orm';
import { ustarOf } from '../../support/ustar';

const stack = inject('stack');
const LIMIT = 20 * 1024 * 1024;
let dev: WranglerDev;
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
const s3config = readS3Config(stack.env);
const s3 = createS3Client(s3config);
const auth = { authorization: `Bearer ${stack.adminToken}` };
const app = `wk-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  dev = await startWranglerDev({ ...stack.env, BERTH_MAX_CONTEXT_BYTES: String(LIMIT) });
  const res = await fetch(`${dev.url}/api/v1/apps`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: app }) });
  expect(res.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await dev?.stop();
  await sql.end();
});

/** A tar whose one member is `size` bytes of a fixed pattern. */
function tarWith(size: number): Uint8Array {
  const body = Buffer.alloc(size).map((_, i) => (i * 17 + (i >> 9)) & 255);
  return new Uint8Array(ustarOf({ 'big.bin': body }));
}

describe('builds on workerd', () => {
  it('takes a multi-stage Dockerfile and a 12 MiB context, stored in S3 by its digest', async () => {
    const context = tarWith(12 * 1024 * 1024);
    const form = new FormData();
    form.append('dockerfile', 'FROM debian:bookworm AS build\nRUN echo built > /out\nFROM debian:bookworm\nCOPY --from=build /out /out\n');
    form.append('context', new Blob([context as Uint8Array<ArrayBuffer>]), 'context.tar');
    const res = await fetch(`${dev.url}/api/v1/apps/${app}/builds`, { method: 'POST', headers: auth, body: form });
    const b = await res.json();
    expect(res.status, JSON.stringify(b)).toBe(202);
    const digest = `sha256:${createHash('sha256').update(context).digest('hex')}`;
    expect(b.contextDigest).toBe(digest);
    const stored = await s3.send(new GetObjectCommand({ Bucket: s3config.bucket, Key: contextKey(digest) }));
    expect(Number(stored.ContentLength)).toBe(context.length);
    await stored.Body?.transformToByteArray();
  });

  it('packs a folder into a tar there too', async () => {
    const form = new FormData();
    form.append('files', new Blob(['FROM scratch\nCOPY . /\n']), 'Dockerfile');
    form.append('files', new Blob(['x\n']), 'src/x.txt');
    const res = await fetch(`${dev.url}/api/v1/apps/${app}/builds`, { method: 'POST', headers: auth, body: form });
    expect(res.status).toBe(202);
    const [row] = await db.select().from(builds).where(eq(builds.id, (await res.json()).id));
    expect(row!.contextMediaType).toBe('application/x-tar');
  });

  it('refuses a chunked upload past the limit with 413', async () => {
    const boundary = 'wkBOUNDARY';
    let sent = 0;
    const chunk = new Uint8Array(256 * 1024).fill(65);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="context"; filename="c.tar"\r\n\r\n`));
      },
      pull(c) {
        if (sent > 4 * LIMIT) return c.close();
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const res = await fetch(`${dev.url}/api/v1/apps/${app}/builds`, {
      method: 'POST',
      headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit).catch((err: Error) => err);
    // workerd may answer and close while the client still sends; either way nothing was stored.
    if (res instanceof Response) {
      expect(res.status).toBe(413);
      // The body may be cut with the connection; when it arrives it is the one error shape.
      const text = await res.text().catch(() => '');
      if (text) expect(JSON.parse(text).error.code).toBe('payload_too_large');
    }
    expect(sent).toBeLessThan(4 * LIMIT);
  });

  it('follows a build log as Server-Sent Events until the build ends', async () => {
    const created = await (
      await fetch(`${dev.url}/api/v1/apps/${app}/builds`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ dockerfile: 'FROM scratch\n' }) })
    ).json();
    const res = await fetch(`${dev.url}/api/v1/builds/${created.id}/logs`, { headers: { ...auth, accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    let seen = '';
    const until = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`ended before ${needle}: ${seen}`);
        seen += new TextDecoder().decode(value);
      }
    };
    await appendLogLines(db, { kind: 'build', id: created.id }, [{ line: 'STEP 1/2 FROM debian' }]);
    await until('STEP 1/2 FROM debian');
    await db.update(builds).set({ status: 'failed', error: 'test ends it' }).where(eq(builds.id, created.id));
    // An event may arrive split across reads: wait for the whole end event.
    await until('"error":"test ends it"}\n\n');
    expect(seen).toMatch(/event: end\ndata: \{"status":"failed"/);
  });
});
