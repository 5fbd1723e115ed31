// A store written by s3rver (Berth's earlier local S3 server) is taken over in place on first start:
// <bucket>/<key>._S3rver_object files move into this server's layout with their stored headers, so
// an existing .berth/ keeps its images. A marker file records that the root was converted.
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { STORED_HEADERS, type ObjectMetadata, type ObjectStore } from './object-store';

const MARKER = '.berth-s3-layout';
const OBJECT = '._S3rver_object';

async function readS3rverMetadata(file: string): Promise<ObjectMetadata> {
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const m: ObjectMetadata = {};
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === 'string' && (STORED_HEADERS.includes(k) || k.startsWith('x-amz-meta-'))) m[k] = v;
    }
    return m;
  } catch {
    return {};
  }
}

/** Converts every s3rver object under `store.root`; returns how many moved. */
export async function importS3rverObjects(store: ObjectStore): Promise<number> {
  if (existsSync(join(store.root, MARKER))) return 0;
  let moved = 0;
  for (const bucket of await store.listBuckets()) {
    const top = store.bucketDir(bucket.name);
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.name === '._S3rver_uploads') await rm(path, { recursive: true, force: true });
        else if (e.isDirectory()) {
          await walk(path);
          await rmdir(path).catch(() => {});
        } else if (e.name.endsWith(OBJECT)) {
          const key = relative(top, join(dir, e.name.slice(0, -OBJECT.length))).split(sep).join('/');
          const stem = path.slice(0, -OBJECT.length);
          const metadata = await readS3rverMetadata(`${stem}._S3rver_metadata.json`);
          const temp = store.tempPath();
          await rename(path, temp);
          await store.commit(temp, bucket.name, key, metadata);
          for (const side of ['._S3rver_metadata.json', '._S3rver_object.md5']) await rm(`${stem}${side}`, { force: true });
          moved++;
        }
      }
    };
    await walk(top);
  }
  await writeFile(join(store.root, MARKER), 'berth-s3 1\n');
  return moved;
}
