import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectStore } from '../../../infra/s3/object-store';

let root: string;
let store: ObjectStore;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'berth-s3-store-'));
  store = new ObjectStore(root);
  await store.init();
  await store.createBucket('bkt');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function put(key: string, body: string, metadata: Record<string, string> = {}) {
  const temp = store.tempPath();
  writeFileSync(temp, body);
  return store.commit(temp, 'bkt', key, metadata);
}

async function read(key: string): Promise<string | undefined> {
  const o = await store.open('bkt', key);
  if (!o) return undefined;
  try {
    return (await o.file.readFile()).toString();
  } finally {
    await o.file.close();
  }
}

describe('ObjectStore', () => {
  it('keeps a key and the keys under it as a "directory" apart', async () => {
    await put('a', 'file a');
    await put('a/b', 'file a/b');
    await put('a/b/c', 'file a/b/c');
    expect(await read('a')).toBe('file a');
    expect(await read('a/b')).toBe('file a/b');
    expect(await read('a/b/c')).toBe('file a/b/c');
  });

  it('stores keys with dot, empty and encoded segments inside the bucket', async () => {
    const keys = ['../../escape', 'x/./y', 'x//y', '/lead', 'trail/', '%2E%2E', 'a@b', 'ünï cödé'];
    for (const k of keys) await put(k, `body of ${k}`);
    for (const k of keys) expect(await read(k)).toBe(`body of ${k}`);
    expect(existsSync(join(root, '..', 'escape@'))).toBe(false);
    expect(await store.listKeys('bkt', '')).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('lists only keys under a prefix, in byte order', async () => {
    for (const k of ['p/b', 'p/a/1', 'p/a/2', 'q/x', 'p', 'pz']) await put(k, k);
    expect(await store.listKeys('bkt', 'p/')).toEqual(['p/a/1', 'p/a/2', 'p/b']);
    expect(await store.listKeys('bkt', 'p')).toEqual(['p', 'p/a/1', 'p/a/2', 'p/b', 'pz']);
    expect(await store.listKeys('bkt', 'p/a/1')).toEqual(['p/a/1']);
    expect(await store.listKeys('bkt', 'nothing/')).toEqual([]);
  });

  it('copies by hard link, keeping the source intact when the copy is replaced', async () => {
    await put('uploads/1/data', 'layer bytes', { 'content-type': 'application/x-tar' });
    const info = await store.copy({ bucket: 'bkt', key: 'uploads/1/data' }, { bucket: 'bkt', key: 'blobs/sha256/ab' }, undefined);
    const src = statSync(store.dataPath('bkt', 'uploads/1/data'));
    expect(statSync(store.dataPath('bkt', 'blobs/sha256/ab')).ino).toBe(src.ino);
    expect(info.etag).toBe((await store.stat('bkt', 'uploads/1/data'))!.etag);
    expect((await store.open('bkt', 'blobs/sha256/ab').then(async (o) => (await o!.file.close(), o!.metadata)))['content-type']).toBe('application/x-tar');
    await put('blobs/sha256/ab', 'other bytes');
    expect(await read('uploads/1/data')).toBe('layer bytes');
  });

  it('deletes an object and the directories it leaves empty, and nothing else', async () => {
    await put('a/b/c/d', '1');
    await put('a/x', '2');
    await store.delete('bkt', 'a/b/c/d');
    await store.delete('bkt', 'never/was');
    const left = (dir: string) => existsSync(join(root, 'bkt', dir));
    expect(left('a/b')).toBe(false);
    expect(left('a')).toBe(true);
    expect(await read('a/x')).toBe('2');
    expect(relative(root, store.dataPath('bkt', 'a/x'))).toBe('bkt/a/x@');
    expect(readFileSync(store.dataPath('bkt', 'a/x'), 'utf8')).toBe('2');
  });

  it('refuses keys too long to store', async () => {
    await expect(put('k'.repeat(1025), 'x')).rejects.toMatchObject({ code: 'KeyTooLongError' });
    await expect(put(`${'s'.repeat(300)}/x`, 'x')).rejects.toMatchObject({ code: 'KeyTooLongError' });
  });
});
