// An overlay upper dir (or any root filesystem) → an OCI layer: a reproducible tar, gzipped, with
// its diff_id (sha256 of the tar) and digest (sha256 of the gzip) computed in the same pass.
// Whiteouts per the OCI image spec: a char device 0/0 becomes `.wh.<name>`, an opaque directory
// gets a `.wh..wh..opq` entry. Owners are shifted back from the runner's user-namespace range.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { digestFromHex, type Digest } from '../../functions/core/oci/digest';
import { toContainerId, type IdMap } from '../sandbox/idmap';
import { encodeTarHeader, paddingFor, TAR_END } from './tar-header';
import { readTreeXattrs, type XattrMap } from './xattrs';

export interface WriteLayerOptions {
  /** The runner's user-namespace map: owners are written as container ids. Omit for unshifted trees. */
  idmap?: IdMap;
  /** Clamp every mtime to this (seconds); reproducible builds pass SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  /** gzip level; 1 is ~5x faster than 6 for ~10% more bytes. */
  level?: number;
  /** Paths (relative, no leading slash) left out with their contents, e.g. proc/ sys/ contents. */
  exclude?: (relPath: string) => boolean;
}

export interface LayerBlob {
  /** The gzip file written. */
  path: string;
  digest: Digest;
  diffId: Digest;
  size: number;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Entries written (whiteouts included); 0 means the upper dir held no change. */
  entries: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const OPAQUE_KEYS = ['trusted.overlay.opaque', 'user.overlay.opaque'];
const STREAM_THRESHOLD = 1 << 20;

/** Only attributes an image carries: overlay's own and trusted.* never leave the runner. */
function keptXattrs(all: Record<string, Uint8Array> | undefined): Record<string, Uint8Array> | undefined {
  if (!all) return undefined;
  let kept: Record<string, Uint8Array> | undefined;
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith('trusted.') || k.startsWith('user.overlay.')) continue;
    if (!k.startsWith('security.') && !k.startsWith('user.')) continue;
    (kept ??= {})[k] = v;
  }
  return kept;
}

function isOpaque(all: Record<string, Uint8Array> | undefined): boolean {
  return OPAQUE_KEYS.some((k) => all?.[k] !== undefined && Buffer.from(all[k]!).toString() === 'y');
}

/** Byte order, as Go's sort of strings: the same tree gives the same order on every machine. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function* tarChunks(root: string, xattrs: XattrMap, o: WriteLayerOptions, counter: { entries: number }): AsyncGenerator<Uint8Array> {
  const links = new Map<string, string>();
  const owner = (id: number) => (o.idmap ? toContainerId(o.idmap, id) : id);
  const clamp = (t: number) => {
    const s = Math.floor(t / 1000);
    return o.sourceDateEpoch !== undefined ? Math.min(s, o.sourceDateEpoch) : s;
  };

  async function* walk(dir: string, rel: string): AsyncGenerator<Uint8Array> {
    const names = (await readdir(dir)).sort(compareNames);
    for (const name of names) {
      const abs = join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      if (o.exclude?.(relPath)) continue;
      const st = await lstat(abs, { bigint: false });
      const attrs = xattrs.get(abs);
      const base = { name: relPath, mode: st.mode & 0o7777, uid: owner(st.uid), gid: owner(st.gid), mtime: clamp(st.mtimeMs), xattrs: keptXattrs(attrs) };
      counter.entries++;
      if (st.isCharacterDevice() && st.rdev === 0) {
        const wh = rel ? `${rel}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`;
        yield encodeTarHeader({ name: wh, type: 'file', mode: 0, uid: 0, gid: 0, mtime: base.mtime, size: 0 });
      } else if (st.isDirectory()) {
        yield encodeTarHeader({ ...base, type: 'directory' });
        if (isOpaque(attrs)) {
          counter.entries++;
          yield encodeTarHeader({ name: `${relPath}/${OPAQUE}`, type: 'file', mode: 0, uid: 0, gid: 0, mtime: base.mtime, size: 0 });
        }
        yield* walk(abs, relPath);
      } else if (st.isSymbolicLink()) {
        yield encodeTarHeader({ ...base, type: 'symlink', linkname: await readlink(abs) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          yield encodeTarHeader({ ...base, type: 'hardlink', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, relPath);
        yield encodeTarHeader({ ...base, type: 'file', size: st.size });
        let written = 0;
        if (st.size < STREAM_THRESHOLD) {
          const data = await readFile(abs);
          written = data.length;
          if (written === st.size) yield data;
        } else {
          for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) {
            const c = chunk as Buffer;
            if (written + c.length > st.size) break;
            written += c.length;
            yield c;
          }
        }
        if (written !== st.size) throw new Error(`Cannot write layer entry "${relPath}": the file changed size while it was read`);
        const pad = paddingFor(st.size);
        if (pad) yield new Uint8Array(pad);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const rdev = st.rdev;
        yield encodeTarHeader({
          ...base,
          type: st.isCharacterDevice() ? 'char' : 'block',
          devmajor: Math.floor(rdev / 256) & 0xfff,
          devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        });
      } else if (st.isFIFO()) {
        yield encodeTarHeader({ ...base, type: 'fifo' });
      } else {
        counter.entries--; // sockets are not archived, as in Docker
      }
    }
  }

  yield* walk(root, '');
  yield TAR_END;
}

/** Small header blocks batched into bigger chunks: fewer hops through the stream machinery. */
async function* coalesce(source: AsyncIterable<Uint8Array>, size = 1 << 18): AsyncGenerator<Uint8Array> {
  let buf = Buffer.allocUnsafe(size);
  let used = 0;
  for await (const chunk of source) {
    if (chunk.length >= size / 2) {
      if (used) yield buf.subarray(0, used);
      if (used) buf = Buffer.allocUnsafe(size);
      used = 0;
      yield chunk;
      continue;
    }
    if (used + chunk.length > size) {
      yield buf.subarray(0, used);
      buf = Buffer.allocUnsafe(size);
      used = 0;
    }
    buf.set(chunk, used);
    used += chunk.length;
  }
  if (used) yield buf.subarray(0, used);
}

function hashing(hash: ReturnType<typeof createHash>, count: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      count.bytes += chunk.length;
      cb(null, chunk);
    },
  });
}

/** Writes dir as a gzipped layer to outPath; one pass computes both digests. */
export async function writeLayer(dir: string, outPath: string, o: WriteLayerOptions = {}): Promise<LayerBlob> {
  const xattrs = await readTreeXattrs(dir);
  const counter = { entries: 0 };
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  const tarCount = { bytes: 0 };
  const gzCount = { bytes: 0 };
  await pipeline(
    Readable.from(coalesce(tarChunks(dir, xattrs, o, counter)), { objectMode: false }),
    hashing(tarHash, tarCount),
    createGzip({ level: o.level ?? 1, chunkSize: 1 << 18 }),
    hashing(gzHash, gzCount),
    createWriteStream(outPath),
  );
  return {
    path: outPath,
    digest: digestFromHex('sha256', gzHash.digest('hex')),
    diffId: digestFromHex('sha256', tarHash.digest('hex')),
    size: gzCount.bytes,
    tarSize: tarCount.bytes,
    entries: counter.entries,
  };
}
