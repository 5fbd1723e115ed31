// Objects on the filesystem: <root>/<bucket>/<segment>/…/<last>@, with an optional sidecar
// <last>@meta holding stored headers. Key segments are percent-encoded so every key maps to one
// path (`a` and `a/b` coexist: a file `a@` beside a directory `a`). A write lands in <root>/.tmp and
// is renamed into place, so readers see the old object or the new one, never half of one.
import { randomUUID, createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { S3Error } from './errors';

/** Headers S3 stores with an object and returns on GET and HEAD (besides x-amz-meta-*). */
export const STORED_HEADERS = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'];

export type ObjectMetadata = Record<string, string>;

export interface ObjectInfo {
  size: number;
  lastModified: Date;
  etag: string;
}

export interface OpenObject extends ObjectInfo {
  file: FileHandle;
  metadata: ObjectMetadata;
}

const MAX_KEY_BYTES = 1024;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3's bucket naming rule: 3–63 of a-z, 0-9, '.' and '-', starting and ending alphanumeric. */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..');
}
const MAX_SEGMENT_CHARS = 240;

export function encodeSegment(segment: string): string {
  if (segment === '') return '%';
  if (segment === '.') return '%2E';
  if (segment === '..') return '%2E%2E';
  return encodeURIComponent(segment);
}

export function decodeSegment(name: string): string {
  return name === '%' ? '' : decodeURIComponent(name);
}

/**
 * An identifier of the stored bytes. Objects are never changed in place (only replaced by rename),
 * so inode, size and mtime name one content; a hard-linked copy keeps its source's ETag, as a copy
 * keeps its MD5 ETag on S3. Clients treat ETags as opaque (multipart ETags are not MD5s either).
 */
export function etagOf(st: Stats): string {
  return createHash('md5').update(`${st.ino}:${st.size}:${st.mtimeMs}`).digest('hex');
}

function infoOf(st: Stats): ObjectInfo {
  return { size: st.size, lastModified: st.mtime, etag: etagOf(st) };
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class ObjectStore {
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.tmpDir = join(root, '.tmp');
  }

  /** Creates the root and empties the temp dir (left-overs of writes a crash interrupted). */
  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** The bucket's directory; a name S3 would not allow (say `..`) never reaches the filesystem. */
  bucketDir(bucket: string): string {
    if (!isBucketName(bucket)) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket.slice(0, 100) });
    return join(this.root, bucket);
  }

  async hasBucket(bucket: string): Promise<boolean> {
    return stat(this.bucketDir(bucket)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  async requireBucket(bucket: string): Promise<void> {
    if (!(await this.hasBucket(bucket))) throw new S3Error('NoSuchBucket', `Bucket "${bucket}" does not exist`, { BucketName: bucket });
  }

  async createBucket(bucket: string): Promise<void> {
    await mkdir(this.bucketDir(bucket), { recursive: true });
  }

  async listBuckets(): Promise<{ name: string; created: Date }[]> {
    const out: { name: string; created: Date }[] = [];
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      out.push({ name: e.name, created: (await stat(join(this.root, e.name))).birthtime });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The data file of a key; throws KeyTooLongError for keys S3 or the filesystem cannot hold. */
  dataPath(bucket: string, key: string): string {
    if (key === '') throw new S3Error('InvalidArgument', 'The object key is empty');
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', `Your key is too long: ${Buffer.byteLength(key)} bytes, the limit is ${MAX_KEY_BYTES}`);
    const segments = key.split('/').map(encodeSegment);
    if (segments.some((s) => s.length > MAX_SEGMENT_CHARS)) {
      throw new S3Error('KeyTooLongError', `Your key has a path segment longer than this server stores (${MAX_SEGMENT_CHARS} characters once encoded)`);
    }
    segments[segments.length - 1] += '@';
    return join(this.bucketDir(bucket), ...segments);
  }

  /** A fresh path to write an object's bytes to before `commit`. */
  tempPath(): string {
    return join(this.tmpDir, randomUUID());
  }

  /** Moves a written temp file into place as `key`, with its metadata. */
  async commit(temp: string, bucket: string, key: string, metadata: ObjectMetadata): Promise<ObjectInfo> {
    const file = this.dataPath(bucket, key);
    await this.placeMetadata(file, metadata);
    for (let attempt = 0; ; attempt++) {
      await mkdir(dirname(file), { recursive: true });
      try {
        await rename(temp, file);
        break;
      } catch (err) {
        // A delete may have pruned the just-made directory: make it again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
    return infoOf(await stat(file));
  }

  private async placeMetadata(file: string, metadata: ObjectMetadata): Promise<void> {
    const side = `${file}meta`;
    if (Object.keys(metadata).length === 0) {
      await unlink(side).catch((err) => {
        if (!isMissing(err)) throw err;
      });
      return;
    }
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify(metadata));
    await mkdir(dirname(file), { recursive: true });
    await rename(temp, side);
  }

  async readMetadata(file: string): Promise<ObjectMetadata> {
    try {
      return JSON.parse(await readFile(`${file}meta`, 'utf8')) as ObjectMetadata;
    } catch (err) {
      if (isMissing(err)) return {};
      throw err;
    }
  }

  /** The object opened for reading (its handle pins the bytes even if it is replaced meanwhile). */
  async open(bucket: string, key: string): Promise<OpenObject | undefined> {
    const path = this.dataPath(bucket, key);
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const st = await file.stat();
      return { ...infoOf(st), file, metadata: await this.readMetadata(path) };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      return infoOf(await stat(this.dataPath(bucket, key)));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Removes the object (absent is fine, as on S3) and the directories it leaves empty. */
  async delete(bucket: string, key: string): Promise<void> {
    const file = this.dataPath(bucket, key);
    for (const f of [file, `${file}meta`]) {
      await unlink(f).catch((err) => {
        if (!isMissing(err)) throw err;
      });
    }
    const top = this.bucketDir(bucket);
    for (let dir = dirname(file); dir.startsWith(`${top}/`); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  /**
   * Copies an object. Objects are immutable files, so the copy is a hard link: O(1) whatever the
   * size. Where linking is impossible (another filesystem), the bytes are copied (reflinked if the
   * filesystem can).
   */
  async copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }, replace: ObjectMetadata | undefined): Promise<ObjectInfo> {
    const source = this.dataPath(from.bucket, from.key);
    const target = this.dataPath(to.bucket, to.key);
    if (source === target) {
      if (!replace) {
        throw new S3Error('InvalidRequest', "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata");
      }
      if (!(await this.stat(from.bucket, from.key))) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: from.key });
      await this.placeMetadata(target, replace);
      return infoOf(await stat(target));
    }
    const temp = this.tempPath();
    try {
      await link(source, temp);
    } catch (err) {
      if (isMissing(err)) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: from.key });
      try {
        await copyFile(source, temp, constants.COPYFILE_FICLONE);
      } catch (err2) {
        if (isMissing(err2)) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: from.key });
        throw err2;
      }
    }
    try {
      return await this.commit(temp, to.bucket, to.key, replace ?? (await this.readMetadata(source)));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Every key under `prefix`, in S3's order (UTF-8 bytes). */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = prefix.slice(0, slash + 1);
    const start = join(this.bucketDir(bucket), ...dirKey.split('/').slice(0, -1).map(encodeSegment));
    const keys: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (e.isDirectory()) {
          const sub = `${keyPrefix}${decodeSegment(e.name)}/`;
          // Only descend where keys can still start with the prefix.
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(join(dir, e.name), sub);
        } else if (e.name.endsWith('@')) {
          const key = keyPrefix + decodeSegment(e.name.slice(0, -1));
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await walk(start, dirKey);
    return keys.map((k) => [Buffer.from(k), k] as const).sort(([a], [b]) => Buffer.compare(a, b)).map(([, k]) => k);
  }
}
