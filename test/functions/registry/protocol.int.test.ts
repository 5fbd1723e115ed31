// The distribution API over HTTP against the real Postgres and S3 server: blobs, uploads, manifests,
// tags, referrers, catalog, and the spec's error bodies.
import { ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { createAccount, findAccountByName } from '../../../db/queries/accounts';
import { findRepository, setRepositoryPublic } from '../../../db/queries/registry';
import { findUpload } from '../../../db/queries/registry-uploads';
import { memberships } from '../../../db/schema';
import { BlobStore } from '../../../functions/storage/blob-store';
import { waitFor } from '../../support/wait-for';
import { basic, createTestAccount, sha256, startTestRegistry, type TestRegistry } from './harness';

const stack = inject('stack');
let reg: TestRegistry;

let me: { name: string; token: string };
let other: { name: string; token: string };
let auth: string;

/** A finished upload's objects (held-back tail, assembled parts) are deleted, after the response. */
async function expectUploadObjectsGone(r: TestRegistry, id: string): Promise<void> {
  await waitFor(`the objects under uploads/${id}/ to be deleted`, async () => {
    const listed = await r.platform.s3.send(new ListObjectsV2Command({ Bucket: r.platform.bucket, Prefix: `uploads/${id}/` }));
    return (listed.KeyCount ?? 0) === 0;
  }, 10_000);
}

beforeAll(async () => {
  reg = await startTestRegistry(stack, { registry: { partSize: 5 * 1024 * 1024 } });
  me = await createTestAccount(reg.platform);
  other = await createTestAccount(reg.platform);
  auth = basic(me.name, me.token);
});
afterAll(() => reg.close());

const findAccount = (name: string) => findAccountByName(reg.platform.db, name);

function req(path: string, init: RequestInit & { auth?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const a = init.auth === undefined ? auth : init.auth;
  if (a) headers.set('authorization', a);
  return fetch(`${reg.url}${path}`, { ...init, headers, redirect: 'manual' });
}

async function pushBlob(repo: string, data: Uint8Array<ArrayBuffer>, a = auth) {
  const res = await req(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data, auth: a });
  expect(res.status).toBe(201);
  return sha256(data);
}

async function errorCode(res: Response) {
  const body = (await res.json()) as { errors: { code: string; message: string }[] };
  expect(body.errors[0]!.message).toBeTruthy();
  return body.errors[0]!.code;
}

function imageManifest(config: Uint8Array, layers: Uint8Array[], extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
    ...extra,
  });
}

describe('base and auth', () => {
  it('GET /v2/ challenges anonymous callers and answers authenticated ones', async () => {
    const anon = await req('/v2/', { auth: null });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe(`Bearer realm="${reg.url}/v2/token",service="berth"`);
    expect(anon.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await errorCode(anon)).toBe('UNAUTHORIZED');
    const ok = await req('/v2/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('refuses a wrong token and a token presented under another account name', async () => {
    expect((await req('/v2/', { auth: basic(me.name, 'berth_wrong') })).status).toBe(401);
    expect((await req('/v2/', { auth: basic(other.name, me.token) })).status).toBe(401);
    const t = await req('/v2/token?service=berth&scope=repository:x/y:pull', { auth: basic(me.name, 'nope') });
    expect(t.status).toBe(401);
    expect(await errorCode(t)).toBe('UNAUTHORIZED');
  });

  it('issues bearer tokens that grant only what the account may do', async () => {
    const repo = `${me.name}/tok`;
    const t = await req(`/v2/token?service=berth&scope=repository:${repo}:pull,push&scope=repository:${other.name}/x:pull,push`);
    expect(t.status).toBe(200);
    const { token } = (await t.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.access).toEqual([
      { type: 'repository', name: repo, actions: ['pull', 'push'] },
      { type: 'repository', name: `${other.name}/x`, actions: [] },
    ]);
    const bearer = `Bearer ${token}`;
    await pushBlob(repo, new TextEncoder().encode('via bearer'), bearer);
    // Asked and refused: the spec's DENIED, not a challenge loop.
    const denied = await req(`/v2/${other.name}/x/blobs/uploads/`, { method: 'POST', auth: bearer });
    expect(denied.status).toBe(403);
    expect(await errorCode(denied)).toBe('DENIED');
    // Never asked: a challenge naming the scope, so the client can fetch a token for it.
    const unasked = await req(`/v2/${me.name}/elsewhere/tags/list`, { auth: bearer });
    expect(unasked.status).toBe(401);
    expect(unasked.headers.get('www-authenticate')).toContain(`scope="repository:${me.name}/elsewhere:pull"`);
    // The OAuth2 password grant (a form POST) issues the same grants.
    const form = new URLSearchParams({ grant_type: 'password', username: me.name, password: me.token, service: 'berth', scope: `repository:${repo}:pull` });
    const posted = await req('/v2/token', { method: 'POST', body: form, auth: null });
    expect(posted.status).toBe(200);
    const postedClaims = JSON.parse(Buffer.from(((await posted.json()) as { token: string }).token.split('.')[1]!, 'base64url').toString());
    expect(postedClaims.access).toEqual([{ type: 'repository', name: repo, actions: ['pull'] }]);
    // A forged signature is refused.
    const forged = await req('/v2/', { auth: `Bearer ${token.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
  });

  it("keeps another account's private repositories invisible and unwritable", async () => {
    const repo = `${other.name}/secret`;
    const data = new TextEncoder().encode('private');
    await pushBlob(repo, data, basic(other.name, other.token));
    const pull = await req(`/v2/${repo}/blobs/${sha256(data)}`);
    expect(pull.status).toBe(404);
    expect(await errorCode(pull)).toBe('NAME_UNKNOWN');
    const missing = await req(`/v2/${other.name}/does-not-exist/tags/list`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe('NAME_UNKNOWN');
    const push = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(push.status).toBe(403);
    expect(await errorCode(push)).toBe('DENIED');
    const anon = await req(`/v2/${repo}/blobs/${sha256(data)}`, { auth: null });
    expect(anon.status).toBe(401);
    // Once public, anyone may pull, nobody else may push.
    const r = await findRepository(reg.platform.db, repo);
    await setRepositoryPublic(reg.platform.db, r!.id, true);
    expect((await req(`/v2/${repo}/blobs/${sha256(data)}`, { auth: null })).status).toBe(200);
    expect((await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' })).status).toBe(403);
  });

  it("lets members push into their organization's namespace", async () => {
    const org = await createAccount(reg.platform.db, { name: `org${crypto.randomUUID().slice(0, 8)}`, kind: 'organization' });
    const repo = `${org.name}/shared`;
    expect((await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' })).status).toBe(403);
    await reg.platform.db.insert(memberships).values({ organizationId: org.id, userId: (await findAccount(me.name))!.id });
    const digest = await pushBlob(repo, new TextEncoder().encode(`org ${org.name}`));
    expect((await req(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect((await req(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', auth: basic(other.name, other.token) })).status).toBe(404);
  });

  it('refuses malformed names with NAME_INVALID', async () => {
    for (const name of ['UPPER/case', 'single', 'a/b-', 'a//b', `${me.name}/${'x'.repeat(300)}`]) {
      const res = await req(`/v2/${name}/tags/list`);
      expect(res.status, name).toBe(400);
      expect(await errorCode(res)).toBe('NAME_INVALID');
    }
  });
});

describe('blobs and uploads', () => {
  it('takes a monolithic upload and serves it whole and by range', async () => {
    const repo = `${me.name}/mono/nested/name`;
    const data = randomBytes(1000);
    const digest = await pushBlob(repo, data);
    const head = await req(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    const get = await req(`/v2/${repo}/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    const part = await req(`/v2/${repo}/blobs/${digest}`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
    const bad = await req(`/v2/${repo}/blobs/${digest}`, { headers: { range: 'bytes=2000-' } });
    expect(bad.status).toBe(416);
    const unknown = await req(`/v2/${repo}/blobs/${sha256('nothing')}`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('BLOB_UNKNOWN');
  });

  it('refuses a body whose digest is not the one named, and stores nothing', async () => {
    const repo = `${me.name}/wrong`;
    const data = randomBytes(64);
    const claimed = sha256('something else');
    const res = await req(`/v2/${repo}/blobs/uploads/?digest=${claimed}`, { method: 'POST', body: data });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
    expect((await req(`/v2/${repo}/blobs/${claimed}`, { method: 'HEAD' })).status).toBe(404);
    const badDigest = await req(`/v2/${repo}/blobs/uploads/?digest=sha256:xyz`, { method: 'POST', body: data });
    expect(await errorCode(badDigest)).toBe('DIGEST_INVALID');
  });

  it('refuses blobs over the size limit with SIZE_INVALID, declared or streamed', async () => {
    const small = await startTestRegistry(stack, { registry: { maxBlobBytes: 1 << 20 } });
    onTestFinished(() => small.close());
    const call = (path: string, init: RequestInit = {}) => fetch(`${small.url}${path}`, { ...init, headers: { ...(init.headers as object), authorization: auth } });
    const repo = `${me.name}/limits`;
    const data = randomBytes(2 << 20);
    const mono = await call(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data });
    expect(mono.status).toBe(413);
    expect(await errorCode(mono)).toBe('SIZE_INVALID');
    const start = await call(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    expect((await call(loc, { method: 'PATCH', body: data.subarray(0, 900_000) })).status).toBe(202);
    const over = await call(loc, { method: 'PATCH', body: data.subarray(900_000, 1_900_000), headers: { 'content-range': '900000-1899999' } });
    expect(over.status).toBe(413);
    expect(await errorCode(over)).toBe('SIZE_INVALID');
    // Streamed without a length, the limit still holds.
    const body = new ReadableStream({
      start(c) {
        c.enqueue(data);
        c.close();
      },
    });
    const streamed = await call(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('takes POST then PUT with sha512', async () => {
    const repo = `${me.name}/sha512`;
    const data = randomBytes(3000);
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const start = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    expect(start.headers.get('oci-chunk-min-length')).toBe(String(5 * 1024 * 1024));
    const put = await req(`${start.headers.get('location')}?digest=${digest}`, { method: 'PUT', body: data });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    const get = await req(`/v2/${repo}/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
  });

  for (const native of [true, false]) {
    it(`assembles chunks of any size across S3 parts (${native ? 'node:crypto' : 'pure-TS'} hash), refusing out-of-order and truncated ones`, async () => {
      // The pure-TS variant also takes the portable web-stream byte path, as on Workers.
      const r = native ? reg : await startTestRegistry(stack, { native: false, direct: false, registry: { partSize: 5 * 1024 * 1024 } });
      try {
        const call = (path: string, init: RequestInit = {}) => fetch(`${r.url}${path}`, { ...init, headers: { ...(init.headers as object), authorization: auth } });
        const repo = `${me.name}/chunked`;
        const data = randomBytes(13 * 1024 * 1024 + 12345);
        const start = await call(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        const loc = start.headers.get('location')!;
        const uuid = start.headers.get('docker-upload-uuid');
        expect(loc).toContain(uuid);
        // 3 MiB chunks: short of a part, so tails wait in S3 between requests.
        const sizes = [3, 3, 0.5, 4, 2.7].map((m) => Math.floor(m * 1024 * 1024));
        let off = 0;
        for (const [i, size] of sizes.entries()) {
          const chunk = data.subarray(off, off + size);
          if (i === 1) {
            const skip = await call(loc, { method: 'PATCH', body: chunk, headers: { 'content-range': `${off + 1}-${off + size}`, 'content-type': 'application/octet-stream' } });
            expect(skip.status).toBe(416);
            expect(skip.headers.get('range')).toBe(`0-${off - 1}`);
            const truncated = await call(loc, { method: 'PATCH', body: chunk.subarray(0, 100), headers: { 'content-range': `${off}-${off + size - 1}` } });
            expect(truncated.status).toBeGreaterThanOrEqual(400);
          }
          const res = await call(loc, { method: 'PATCH', body: chunk, headers: { 'content-range': `${off}-${off + chunk.length - 1}` } });
          expect(res.status).toBe(202);
          off += chunk.length;
          expect(res.headers.get('range')).toBe(`0-${off - 1}`);
        }
        const status = await call(loc);
        expect(status.status).toBe(204);
        expect(status.headers.get('range')).toBe(`0-${off - 1}`);
        const wrong = await call(`${loc}?digest=${sha256('no')}`, { method: 'PUT', body: data.subarray(off) });
        expect(wrong.status).toBe(400);
        expect(await errorCode(wrong)).toBe('DIGEST_INVALID');
        expect((await call(loc)).status).toBe(404);
        // Again, properly, finishing with the rest (over 10 MiB: S3 parts on the 5 MiB-part registry) in the PUT.
        const again = await call(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        const loc2 = again.headers.get('location')!;
        const head = 3 << 20;
        expect((await call(loc2, { method: 'PATCH', body: data.subarray(0, head) })).status).toBe(202);
        const done = await call(`${loc2}?digest=${sha256(data)}`, { method: 'PUT', body: data.subarray(head) });
        expect(done.status).toBe(201);
        await expectUploadObjectsGone(r, again.headers.get('docker-upload-uuid')!);
        const get = await call(`/v2/${repo}/blobs/${sha256(data)}`);
        expect(createHash('sha256').update(Buffer.from(await get.arrayBuffer())).digest('hex')).toBe(sha256(data).slice(7));
      } finally {
        if (!native) await r.close();
      }
    });
  }

  it('finishes a chunked upload under a sha512 digest by hashing the stored object', async () => {
    const repo = `${me.name}/chunked512`;
    const data = randomBytes(7 << 20);
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const start = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    expect((await req(loc, { method: 'PATCH', body: data.subarray(0, 6 << 20) })).status).toBe(202);
    expect((await req(loc, { method: 'PATCH', body: data.subarray(6 << 20) })).status).toBe(202);
    const wrong = await req(`${loc}?digest=sha512:${'0'.repeat(128)}`, { method: 'PUT' });
    expect(await errorCode(wrong)).toBe('DIGEST_INVALID');
    const again = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc2 = again.headers.get('location')!;
    expect((await req(loc2, { method: 'PATCH', body: data })).status).toBe(202);
    const done = await req(`${loc2}?digest=${digest}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    await expectUploadObjectsGone(reg, again.headers.get('docker-upload-uuid')!);
    const get = await req(`/v2/${repo}/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
  });

  it('streams a whole-blob PATCH into S3, and keeps the upload at byte 0 when the client hangs up midway', async () => {
    const repo = `${me.name}/first-chunk`;
    const data = randomBytes(6 << 20);
    const start = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    // Declares 6 MiB, sends 1 MiB, and closes the connection.
    const url = new URL(`${reg.url}${loc}`);
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        sock.write(`PATCH ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${auth}\r\nContent-Length: ${data.length}\r\n\r\n`);
        sock.write(data.subarray(0, 1 << 20), () => setTimeout(() => sock.destroy(), 200));
      });
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    const status = await req(loc);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-0');
    const id = start.headers.get('docker-upload-uuid')!;
    expect((await findUpload(reg.platform.db, id))?.pendingKey).toBeNull();
    expect(await new BlobStore(reg.platform.s3, reg.platform.bucket).stat(`uploads/${id}/pending-${data.length}`)).toBeUndefined();
    const patch = await req(loc, { method: 'PATCH', body: data });
    expect(patch.status).toBe(202);
    expect(patch.headers.get('range')).toBe(`0-${data.length - 1}`);
    const done = await req(`${loc}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const get = await req(`/v2/${repo}/blobs/${sha256(data)}`, { headers: { range: 'bytes=1048570-1048579' } });
    expect(get.status).toBe(206);
    expect(Buffer.from(await get.arrayBuffer()).equals(data.subarray(1048570, 1048580))).toBe(true);
  });

  it('cancels an upload and drops its state', async () => {
    const repo = `${me.name}/cancel`;
    const start = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    expect((await req(loc, { method: 'PATCH', body: randomBytes(6 << 20) })).status).toBe(202);
    expect((await req(loc, { method: 'PATCH', body: randomBytes(6 << 20) })).status).toBe(202);
    const row = await findUpload(reg.platform.db, start.headers.get('docker-upload-uuid')!);
    expect(row?.s3UploadId).toBeTruthy();
    expect((await req(loc, { method: 'DELETE' })).status).toBe(204);
    // The row, the held-back tail and the S3 multipart upload are gone.
    expect(await findUpload(reg.platform.db, row!.id)).toBeUndefined();
    await expect(reg.platform.s3.send(new ListPartsCommand({ Bucket: reg.platform.bucket, Key: row!.s3Key, UploadId: row!.s3UploadId! }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    expect(row!.pendingKey).toBeTruthy();
    expect(await new BlobStore(reg.platform.s3, reg.platform.bucket).stat(row!.pendingKey!)).toBeUndefined();
    const gone = await req(loc);
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('mounts a blob from a repository the caller can read, and falls back to an upload otherwise', async () => {
    const data = randomBytes(200);
    const digest = await pushBlob(`${me.name}/src`, data);
    const ok = await req(`/v2/${me.name}/dst/blobs/uploads/?mount=${digest}&from=${me.name}/src`, { method: 'POST' });
    expect(ok.status).toBe(201);
    expect(ok.headers.get('docker-content-digest')).toBe(digest);
    expect((await req(`/v2/${me.name}/dst/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    const theirs = await pushBlob(`${other.name}/hidden`, randomBytes(50), basic(other.name, other.token));
    const fallback = await req(`/v2/${me.name}/dst/blobs/uploads/?mount=${theirs}&from=${other.name}/hidden`, { method: 'POST' });
    expect(fallback.status).toBe(202);
    expect(fallback.headers.get('location')).toContain('/blobs/uploads/');
  });
});

describe('manifests, tags, referrers, catalog', () => {
  it('refuses a manifest whose blobs are missing, then stores it verbatim by tag and digest', async () => {
    const repo = `${me.name}/app`;
    const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const layer = randomBytes(500);
    const body = imageManifest(config, [layer]);
    const early = await req(`/v2/${repo}/manifests/v1`, { method: 'PUT', body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(early.status).toBe(400);
    expect(await errorCode(early)).toBe('MANIFEST_BLOB_UNKNOWN');
    await pushBlob(repo, config);
    await pushBlob(repo, layer);
    const put = await req(`/v2/${repo}/manifests/v1`, { method: 'PUT', body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(put.status).toBe(201);
    const digest = sha256(body);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    for (const ref of ['v1', digest]) {
      const get = await req(`/v2/${repo}/manifests/${ref}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(await get.text()).toBe(body);
    }
    const notAccepted = await req(`/v2/${repo}/manifests/v1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    expect(notAccepted.status).toBe(404);
    const wrongDigest = await req(`/v2/${repo}/manifests/${sha256('x')}`, { method: 'PUT', body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(await errorCode(wrongDigest)).toBe('DIGEST_INVALID');
    for (const bad of ['not json', '{"schemaVersion":1}', JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain' })]) {
      const res = await req(`/v2/${repo}/manifests/bad`, { method: 'PUT', body: bad });
      expect(await errorCode(res)).toBe('MANIFEST_INVALID');
    }
    const badTag = await req(`/v2/${repo}/manifests/-bad`, { method: 'PUT', body });
    expect(badTag.status).toBe(400);
  });

  it('accepts manifests over 4 MB up to the limit and refuses larger ones with SIZE_INVALID', async () => {
    const repo = `${me.name}/big-manifest`;
    const config = new TextEncoder().encode('{}');
    await pushBlob(repo, config);
    const body = imageManifest(config, [], { annotations: { filler: 'x'.repeat(5 * 1024 * 1024) } });
    const ok = await req(`/v2/${repo}/manifests/large`, { method: 'PUT', body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(ok.status).toBe(201);
    const tooBig = imageManifest(config, [], { annotations: { filler: 'x'.repeat(17 * 1024 * 1024) } });
    const res = await req(`/v2/${repo}/manifests/huge`, { method: 'PUT', body: tooBig, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe('SIZE_INVALID');
  });

  it('lists tags in pages with a Link header, deletes tags and manifests', async () => {
    const repo = `${me.name}/tags`;
    const config = new TextEncoder().encode('{"a":1}');
    await pushBlob(repo, config);
    const body = imageManifest(config, []);
    for (const t of ['c', 'a', 'b', 'd']) {
      expect((await req(`/v2/${repo}/manifests/${t}`, { method: 'PUT', body })).status).toBe(201);
    }
    const p1 = await req(`/v2/${repo}/tags/list?n=2`);
    expect(await p1.json()).toEqual({ name: repo, tags: ['a', 'b'] });
    expect(p1.headers.get('link')).toBe(`</v2/${repo}/tags/list?n=2&last=b>; rel="next"`);
    const p2 = await req(`/v2/${repo}/tags/list?n=2&last=b`);
    expect(await p2.json()).toEqual({ name: repo, tags: ['c', 'd'] });
    expect((await req(`/v2/${repo}/manifests/a`, { method: 'DELETE' })).status).toBe(202);
    expect(((await (await req(`/v2/${repo}/tags/list`)).json()) as { tags: string[] }).tags).toEqual(['b', 'c', 'd']);
    expect((await req(`/v2/${repo}/manifests/${sha256(body)}`, { method: 'DELETE' })).status).toBe(202);
    expect(((await (await req(`/v2/${repo}/tags/list`)).json()) as { tags: string[] }).tags).toEqual([]);
    const gone = await req(`/v2/${repo}/manifests/b`);
    expect(await errorCode(gone)).toBe('MANIFEST_UNKNOWN');
  });

  it('serves referrers with the artifactType filter and answers OCI-Subject', async () => {
    const repo = `${me.name}/refs`;
    const empty = new TextEncoder().encode('{}');
    await pushBlob(repo, empty);
    const subjectBody = imageManifest(empty, []);
    await req(`/v2/${repo}/manifests/base`, { method: 'PUT', body: subjectBody });
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(subjectBody), size: subjectBody.length };
    const sig = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [],
      subject,
      annotations: { who: 'me' },
    });
    const sbom = imageManifest(empty, [], { artifactType: 'application/vnd.example.sbom', subject });
    const put = await req(`/v2/${repo}/manifests/${sha256(sig)}`, { method: 'PUT', body: sig });
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-subject')).toBe(subject.digest);
    await req(`/v2/${repo}/manifests/${sha256(sbom)}`, { method: 'PUT', body: sbom });
    const all = await req(`/v2/${repo}/referrers/${subject.digest}`);
    expect(all.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    const idx = (await all.json()) as { manifests: { digest: string; artifactType: string; annotations?: object }[] };
    expect(idx.manifests.map((m) => m.artifactType).sort()).toEqual(['application/vnd.example.sbom', 'application/vnd.example.sig']);
    const filtered = await req(`/v2/${repo}/referrers/${subject.digest}?artifactType=application/vnd.example.sig`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as typeof idx).manifests).toEqual([
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.example.sig', annotations: { who: 'me' } },
    ]);
    const none = await req(`/v2/${repo}/referrers/${sha256('nothing')}`);
    expect(((await none.json()) as typeof idx).manifests).toEqual([]);
  });

  it('lists in the catalog only what the caller may see', async () => {
    const mine = `${me.name}/cat`;
    await pushBlob(mine, randomBytes(10));
    const theirs = `${other.name}/cat`;
    await pushBlob(theirs, randomBytes(10), basic(other.name, other.token));
    const res = await req('/v2/_catalog?n=10000');
    const { repositories } = (await res.json()) as { repositories: string[] };
    expect(repositories).toContain(mine);
    expect(repositories).not.toContain(theirs);
    const anon = (await (await req('/v2/_catalog?n=10000', { auth: null })).json()) as { repositories: string[] };
    expect(anon.repositories).not.toContain(mine);
  });
});
