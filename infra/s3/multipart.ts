// Multipart uploads: <root>/.multipart/<upload id>/ holds upload.json (bucket, key, metadata) and one
// file per part. Completing checks the list against the parts held, then joins them: the first part
// file becomes the object and the others are appended to it, so only parts 2…n are copied once.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Error } from './errors';
import { etagOf, type ObjectInfo, type ObjectMetadata, type ObjectStore } from './object-store';

export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;

export interface Upload {
  id: string;
  bucket: string;
  key: string;
  metadata: ObjectMetadata;
  initiated: string;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: Date;
}

export class MultipartStore {
  readonly dir: string;

  constructor(private readonly objects: ObjectStore) {
    this.dir = join(objects.root, '.multipart');
  }

  async create(bucket: string, key: string, metadata: ObjectMetadata): Promise<Upload> {
    this.objects.dataPath(bucket, key); // the key must be storable
    const upload: Upload = { id: randomBytes(24).toString('hex'), bucket, key, metadata, initiated: new Date().toISOString() };
    await mkdir(join(this.dir, upload.id), { recursive: true });
    await writeFile(join(this.dir, upload.id, 'upload.json'), JSON.stringify(upload));
    return upload;
  }

  /** The upload `id` of `bucket`/`key`; NoSuchUpload when it is unknown, finished or aborted. */
  async load(bucket: string, key: string, id: string): Promise<Upload> {
    const missing = noSuchUpload(id);
    if (!/^[0-9a-f]{48}$/.test(id)) throw missing;
    let upload: Upload;
    try {
      upload = JSON.parse(await readFile(join(this.dir, id, 'upload.json'), 'utf8')) as Upload;
    } catch {
      throw missing;
    }
    if (upload.bucket !== bucket || upload.key !== key) throw missing;
    return upload;
  }

  partPath(upload: Upload, partNumber: number): string {
    return join(this.dir, upload.id, `part-${partNumber}`);
  }

  /** Moves a written temp file in as part `partNumber` (replacing an earlier upload of that part). */
  async putPart(upload: Upload, partNumber: number, temp: string): Promise<ObjectInfo> {
    const path = this.partPath(upload, partNumber);
    try {
      await rename(temp, path);
    } catch (err) {
      // Aborted or completed meanwhile.
      await rm(temp, { force: true });
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? noSuchUpload(upload.id) : err;
    }
    const st = await stat(path);
    return { size: st.size, lastModified: st.mtime, etag: etagOf(st) };
  }

  async listParts(upload: Upload): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    for (const name of await readdir(join(this.dir, upload.id)).catch(() => [] as string[])) {
      const m = /^part-(\d+)$/.exec(name);
      if (!m) continue;
      const st = await stat(join(this.dir, upload.id, name)).catch(() => undefined);
      if (st) parts.push({ partNumber: Number(m[1]), size: st.size, etag: etagOf(st), lastModified: st.mtime });
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Joins the listed parts into the object, as S3's CompleteMultipartUpload does. */
  async complete(upload: Upload, list: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    if (list.length === 0) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate: it lists no parts');
    const held = new Map((await this.listParts(upload)).map((p) => [p.partNumber, p]));
    const chosen: PartInfo[] = [];
    for (const [i, p] of list.entries()) {
      if (i > 0 && p.partNumber <= list[i - 1]!.partNumber) {
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      }
      const part = held.get(p.partNumber);
      if (!part || part.etag !== p.etag.replace(/"/g, '')) {
        throw new S3Error('InvalidPart', `One or more of the specified parts could not be found or its ETag did not match: part ${p.partNumber}`, { PartNumber: String(p.partNumber) });
      }
      chosen.push(part);
    }
    for (const p of chosen.slice(0, -1)) {
      if (p.size < MIN_PART_BYTES) {
        throw new S3Error('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed size: part ${p.partNumber} has ${p.size} bytes, all but the last need ${MIN_PART_BYTES}`, {
          PartNumber: String(p.partNumber),
        });
      }
    }
    const temp = this.objects.tempPath();
    await rename(this.partPath(upload, chosen[0]!.partNumber), temp);
    try {
      if (chosen.length > 1) await appendParts(temp, chosen.slice(1).map((p) => this.partPath(upload, p.partNumber)));
      const info = await this.objects.commit(temp, upload.bucket, upload.key, upload.metadata);
      await this.abort(upload);
      return info;
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async abort(upload: Upload): Promise<void> {
    await rm(join(this.dir, upload.id), { recursive: true, force: true });
  }
}

function noSuchUpload(id: string): S3Error {
  return new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
    UploadId: id.slice(0, 100),
  });
}

async function appendParts(target: string, parts: string[]): Promise<void> {
  const out = await open(target, 'a');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (const part of parts) {
      const input = await open(part, 'r');
      try {
        for (;;) {
          const { bytesRead } = await input.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          let written = 0;
          while (written < bytesRead) written += (await out.write(buf, written, bytesRead - written)).bytesWritten;
        }
      } finally {
        await input.close();
      }
    }
  } finally {
    await out.close();
  }
}
