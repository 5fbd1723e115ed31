// The registry under `wrangler dev` (workerd): the pure-TS resumable hash, S3 multipart and the
// token flow on the Workers runtime, driven by HTTP and by skopeo.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { startWranglerDev, type WranglerDev } from '../../support/wrangler-dev';
import { basic, sha256 } from './harness';
import { OciLayout } from './oci-layout';
import { startPlainHttpProxy } from './plain-http-proxy';
import { pullArgs, pushArgs, skopeo } from './skopeo';

const stack = inject('stack');
let dev: WranglerDev;
let work: string;
const auth = () => basic('admin', stack.adminToken);
const repo = `admin/workerd-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  dev = await startWranglerDev(stack.env);
  work = mkdtempSync(join(tmpdir(), 'berth-workerd-'));
}, 120_000);
afterAll(async () => {
  await dev?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('registry on workerd', () => {
  it('challenges, issues tokens, and takes chunked uploads with the resumable hash', async () => {
    const anon = await fetch(`${dev.url}/v2/`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toContain('/v2/token');
    const t = await fetch(`${dev.url}/v2/token?service=berth&scope=repository:${repo}:pull,push`, { headers: { authorization: auth() } });
    const { token } = (await t.json()) as { token: string };
    const bearer = `Bearer ${token}`;
    const data = randomBytes(12 * 1024 * 1024 + 777);
    const start = await fetch(`${dev.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: bearer } });
    expect(start.status).toBe(202);
    const loc = start.headers.get('location')!;
    let off = 0;
    for (const size of [3 << 20, 6 << 20, 1 << 20]) {
      const res = await fetch(`${dev.url}${loc}`, {
        method: 'PATCH',
        body: data.subarray(off, off + size),
        headers: { authorization: bearer, 'content-range': `${off}-${off + size - 1}` },
      });
      expect(res.status).toBe(202);
      off += size;
    }
    const done = await fetch(`${dev.url}${loc}?digest=${sha256(data)}`, { method: 'PUT', body: data.subarray(off), headers: { authorization: bearer } });
    expect(done.status).toBe(201);
    const get = await fetch(`${dev.url}/v2/${repo}/blobs/${sha256(data)}`, { headers: { authorization: bearer } });
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(data));
  });

  it('round-trips an image with skopeo keeping its digest', async () => {
    const layout = new OciLayout(join(work, 'src'));
    const image = layout.addImage([7 << 20, 100_000]);
    layout.tag(image, 'v1');
    const proxy = await startPlainHttpProxy({ host: '127.0.0.1', port: Number(new URL(dev.url).port) });
    onTestFinished(() => proxy.close());
    const ref = `docker://127.0.0.1:${proxy.port}/${repo}:v1`;
    const push = await skopeo(pushArgs(`oci:${layout.dir}:v1`, ref, `admin:${stack.adminToken}`));
    expect(push.code, push.stderr).toBe(0);
    const dest = join(work, 'pulled');
    const pull = await skopeo(pullArgs(ref, `oci:${dest}:v1`, `admin:${stack.adminToken}`));
    expect(pull.code, pull.stderr).toBe(0);
    const idx = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(idx.manifests[0]!.digest).toBe(image.digest);
    // The isolate keeps manifest bytes in memory: serving them again must not have used them up.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${dev.url}/v2/${repo}/manifests/v1`, { headers: { authorization: auth(), accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(image.digest);
    }
  });
});
