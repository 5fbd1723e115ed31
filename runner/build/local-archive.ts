// ADD's local archives, recognised the way Docker does: the file, decompressed if it starts with a
// gzip, bzip2, xz or zstd magic, must begin with a valid tar header. Anything else (a gzipped text
// file, an empty tar) is copied as it is. bzip2, xz and zstd go through the host's tools, as
// Docker's own decompression does.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

const TOOLS: Record<Exclude<Compression, 'gzip' | 'none'>, string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

export function detectCompression(head: Uint8Array): Compression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/** Whether a 512-byte block is a tar header: not the zero end block, and its checksum matches. */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 512 || block.every((b) => b === 0)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const field = Buffer.from(block.subarray(148, 156)).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const sum = parseInt(field, 8);
  return sum === unsigned || sum === signed;
}

/** The archive's bytes, decompressed. */
export async function* readDecompressed(path: string, compression: Compression): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    yield* createReadStream(path) as AsyncIterable<Buffer>;
    return;
  }
  if (compression === 'gzip') {
    const src = createReadStream(path);
    const gunzip = src.pipe(createGunzip());
    try {
      yield* gunzip as AsyncIterable<Buffer>;
    } finally {
      src.destroy();
      gunzip.destroy();
    }
    return;
  }
  const child = spawn(TOOLS[compression], ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  let finished = false;
  try {
    yield* child.stdout as AsyncIterable<Buffer>;
    finished = true;
    const code = await exited;
    if (code !== 0) throw new Error(`Cannot decompress "${path}" with ${TOOLS[compression]}: ${stderr.trim() || `exit ${code}`}`);
  } finally {
    if (!finished) child.kill();
  }
}

/** The compression of a local file ADD unpacks, or undefined when it is not a tar archive. */
export async function detectTarArchive(path: string): Promise<Compression | undefined> {
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    head = head.subarray(0, (await fh.read(head, 0, 512, 0)).bytesRead);
  } finally {
    await fh.close();
  }
  const compression = detectCompression(head);
  if (compression === 'none') return isTarHeader(head) ? 'none' : undefined;
  let block = Buffer.alloc(0);
  try {
    for await (const chunk of readDecompressed(path, compression)) {
      block = Buffer.concat([block, chunk]);
      if (block.length >= 512) break;
    }
  } catch {
    return undefined; // a corrupt stream is no archive: Docker copies it as it is
  }
  return isTarHeader(block.subarray(0, 512)) ? compression : undefined;
}
