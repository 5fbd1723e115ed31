// The runner's local layer store, keyed by diff_id: each layer unpacked once (pulled from S3 by its
// digest, verified), already shifted into the user-namespace range and with overlayfs whiteouts, so
// a stack of them mounts directly as overlay lower dirs. Leases (files naming the layers a build or
// container uses, with the holder's pid) keep a layer from eviction under the disk budget.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { digestHex } from '../../functions/core/oci/digest';
import type { Digest } from '../../functions/core/oci/digest';
import { blobKey, type BlobStore } from '../../functions/storage/blob-store';
import type { IdMap } from '../sandbox/idmap';
import { extractTar } from './tar-extract';
import { readTar } from './tar-reader';

export interface LayerRef {
  /** Digest of the compressed blob in S3. */
  digest: string;
  /** Digest of the uncompressed tar: the store's key. */
  diffId: string;
}

export interface LayerStoreOptions {
  root: string;
  blobs?: BlobStore;
  idmap: IdMap;
  /** Evict unused layers beyond this many bytes of content. */
  budgetBytes?: number;
}

interface LayerMeta {
  size: number;
  lastUsed: number;
}

export class LayerDigestError extends Error {
  override name = 'LayerDigestError';
}

function tap(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LayerStore {
  private readonly pending = new Map<string, Promise<string>>();
  constructor(readonly o: LayerStoreOptions) {}

  private dir(diffId: string): string {
    return join(this.o.root, 'layers', digestHex(diffId as Digest));
  }
  private metaPath(diffId: string): string {
    return join(this.o.root, 'meta', `${digestHex(diffId as Digest)}.json`);
  }

  /** Creates the store's directories and removes half-unpacked layers a crash left behind. */
  async open(): Promise<void> {
    for (const d of ['layers', 'meta', 'tmp', 'leases']) await mkdir(join(this.o.root, d), { recursive: true });
    await rm(join(this.o.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.o.root, 'tmp'));
    for (const f of await readdir(join(this.o.root, 'leases'))) {
      const lease = JSON.parse(await readFile(join(this.o.root, 'leases', f), 'utf8').catch(() => '{}')) as { pid?: number };
      if (!lease.pid || !pidAlive(lease.pid)) await rm(join(this.o.root, 'leases', f), { force: true });
    }
  }

  has(diffId: string): boolean {
    return existsSync(this.dir(diffId)) && existsSync(this.metaPath(diffId));
  }

  /** Records that holder uses these layers; eviction skips them until release(holder). */
  async lease(holder: string, diffIds: string[]): Promise<void> {
    const file = join(this.o.root, 'leases', `${holder}.json`);
    const prev = JSON.parse(await readFile(file, 'utf8').catch(() => '{"diffIds":[]}')) as { diffIds: string[] };
    const all = [...new Set([...prev.diffIds, ...diffIds])];
    await writeFile(file, JSON.stringify({ pid: process.pid, diffIds: all }));
  }

  async release(holder: string): Promise<void> {
    await rm(join(this.o.root, 'leases', `${holder}.json`), { force: true });
  }

  /** The unpacked directory of a layer, pulled from S3 once per runner. */
  async ensure(layer: LayerRef): Promise<string> {
    const dir = this.dir(layer.diffId);
    if (this.has(layer.diffId)) {
      await this.touch(layer.diffId);
      return dir;
    }
    let p = this.pending.get(layer.diffId);
    if (!p) {
      p = this.pull(layer).finally(() => this.pending.delete(layer.diffId));
      this.pending.set(layer.diffId, p);
    }
    return p;
  }

  private async pull(layer: LayerRef): Promise<string> {
    if (!this.o.blobs) throw new Error(`Cannot pull layer ${layer.digest}: the store has no blob store`);
    const blob = await this.o.blobs.get(blobKey(layer.digest));
    if (!blob) throw new Error(`Cannot pull layer ${layer.digest}: the blob is missing from storage`);
    return this.unpack(layer, Readable.fromWeb(blob.body as NodeReadableStream<Uint8Array>));
  }

  /** Unpacks a gzipped layer already on local disk (one this runner just wrote). */
  async importFile(layer: LayerRef, path: string): Promise<string> {
    if (this.has(layer.diffId)) return this.dir(layer.diffId);
    return this.unpack(layer, createReadStream(path));
  }

  /** Takes an overlay upper dir that already is the layer (same owners, overlay whiteouts) by rename. */
  async adopt(diffId: string, upper: string, size: number): Promise<string> {
    const dir = this.dir(diffId);
    if (this.has(diffId)) {
      await rm(upper, { recursive: true, force: true });
      return dir;
    }
    await rm(dir, { recursive: true, force: true });
    await rename(upper, dir);
    await this.writeMeta(diffId, size);
    await this.evict();
    return dir;
  }

  private async unpack(layer: LayerRef, source: Readable): Promise<string> {
    const tmp = join(this.o.root, 'tmp', `${digestHex(layer.diffId as Digest)}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    const gz = createHash('sha256');
    const tar = createHash('sha256');
    let size = 0;
    try {
      await pipeline(source, tap(gz), createGunzip(), tap(tar), async (s: AsyncIterable<Buffer>) => {
        const r = await extractTar(readTar(s), tmp, { flavour: 'layer', idmap: this.o.idmap, what: `layer ${layer.digest}` });
        size = r.bytes;
      });
      const gotDigest = `sha256:${gz.digest('hex')}`;
      const gotDiff = `sha256:${tar.digest('hex')}`;
      if (gotDigest !== layer.digest) throw new LayerDigestError(`Cannot unpack layer ${layer.digest}: its content has digest ${gotDigest}`);
      if (gotDiff !== layer.diffId) throw new LayerDigestError(`Cannot unpack layer ${layer.digest}: its diff_id is ${gotDiff}, expected ${layer.diffId}`);
      const dir = this.dir(layer.diffId);
      if (this.has(layer.diffId)) {
        await rm(tmp, { recursive: true, force: true });
        return dir;
      }
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      await this.writeMeta(layer.diffId, size);
      await this.evict();
      return dir;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  private async writeMeta(diffId: string, size: number): Promise<void> {
    await writeFile(this.metaPath(diffId), JSON.stringify({ size, lastUsed: Date.now() } satisfies LayerMeta));
  }

  private async touch(diffId: string): Promise<void> {
    const meta = JSON.parse(await readFile(this.metaPath(diffId), 'utf8')) as LayerMeta;
    if (Date.now() - meta.lastUsed > 60_000) await this.writeMeta(diffId, meta.size);
  }

  private async inUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const f of await readdir(join(this.o.root, 'leases'))) {
      const l = JSON.parse(await readFile(join(this.o.root, 'leases', f), 'utf8').catch(() => '{}')) as { pid?: number; diffIds?: string[] };
      if (l.pid && pidAlive(l.pid)) for (const d of l.diffIds ?? []) used.add(d);
    }
    return used;
  }

  /** Removes least recently used layers no lease holds until the store fits its budget. */
  async evict(): Promise<string[]> {
    if (this.o.budgetBytes === undefined) return [];
    const metas: { diffId: string; meta: LayerMeta }[] = [];
    for (const f of await readdir(join(this.o.root, 'meta'))) {
      const meta = JSON.parse(await readFile(join(this.o.root, 'meta', f), 'utf8').catch(() => '{"size":0,"lastUsed":0}')) as LayerMeta;
      metas.push({ diffId: `sha256:${f.replace(/\.json$/, '')}`, meta });
    }
    let total = metas.reduce((n, m) => n + m.meta.size, 0);
    if (total <= this.o.budgetBytes) return [];
    const used = await this.inUse();
    const evicted: string[] = [];
    for (const { diffId, meta } of metas.sort((a, b) => a.meta.lastUsed - b.meta.lastUsed)) {
      if (total <= this.o.budgetBytes) break;
      if (used.has(diffId) || this.pending.has(diffId)) continue;
      await rm(this.metaPath(diffId), { force: true });
      await rm(this.dir(diffId), { recursive: true, force: true });
      total -= meta.size;
      evicted.push(diffId);
    }
    return evicted;
  }
}
