import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importS3rverObjects } from '../../../infra/s3/import-s3rver';
import { ObjectStore } from '../../../infra/s3/object-store';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('importS3rverObjects', () => {
  it("takes over an s3rver store's objects and headers once, leaving none of its files", async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-s3-import-'));
    const dir = join(root, 'berth', 'blobs', 'sha256');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'abc._S3rver_object'), 'layer');
    writeFileSync(join(dir, 'abc._S3rver_object.md5'), 'ignored');
    writeFileSync(join(dir, 'abc._S3rver_metadata.json'), JSON.stringify({ 'content-type': 'application/x-tar', 'x-amz-meta-k': 'v', 'x-amz-acl': 'private' }));
    writeFileSync(join(root, 'berth', 'top._S3rver_object'), 'top');
    mkdirSync(join(root, 'berth', '._S3rver_uploads', 'u1'), { recursive: true });
    const store = new ObjectStore(root);
    await store.init();
    expect(await importS3rverObjects(store)).toBe(2);
    const o = await store.open('berth', 'blobs/sha256/abc');
    expect((await o!.file.readFile()).toString()).toBe('layer');
    expect(o!.metadata).toEqual({ 'content-type': 'application/x-tar', 'x-amz-meta-k': 'v' });
    await o!.file.close();
    expect(await store.listKeys('berth', '')).toEqual(['blobs/sha256/abc', 'top']);
    expect(readdirSync(dir)).toEqual(['abc@', 'abc@meta']);
    expect(existsSync(join(root, 'berth', '._S3rver_uploads'))).toBe(false);
    // The marker keeps later starts from walking the store again.
    writeFileSync(join(dir, 'late._S3rver_object'), 'x');
    expect(await importS3rverObjects(store)).toBe(0);
  });
});
