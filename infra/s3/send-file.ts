// Sends a byte range of an open file as a response body, through two reusable buffers.
// A read stream allocates a fresh buffer per read; at registry speeds (hundreds of MiB/s) that garbage
// cost the server more CPU than the reads themselves. Here each buffer is read into only after the
// socket has taken the write that used it, so no bytes are copied or retained in between.
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

const BUFFER_BYTES = 1 << 20;

/** Resolves once `out` has been handed the last byte (false if it closed first); rejects on a read error. */
export async function sendFileRange(file: FileHandle, start: number, end: number, out: Writable): Promise<boolean> {
  const total = end - start + 1;
  const buffers = [Buffer.allocUnsafe(Math.min(BUFFER_BYTES, total)), Buffer.allocUnsafe(Math.min(BUFFER_BYTES, total))];
  let closed = false;
  let onClose = () => {};
  // A write to a socket that closes may never call back: closing settles the wait as well.
  const closing = new Promise<void>((resolve) => (onClose = () => ((closed = true), resolve())));
  out.once('close', onClose);
  let inFlight: Promise<void> = Promise.resolve();
  try {
    let position = start;
    for (let turn = 0; position <= end && !closed; turn++) {
      const buffer = buffers[turn & 1]!;
      const want = Math.min(buffer.length, end - position + 1);
      const { bytesRead } = await file.read(buffer, 0, want, position);
      if (bytesRead === 0) throw new Error(`Cannot read the object: it ended at byte ${position} of ${end + 1}`);
      position += bytesRead;
      // The other buffer's write must be done before the next turn reads into it.
      await Promise.race([inFlight, closing]);
      if (closed) break;
      const chunk = buffer.subarray(0, bytesRead);
      inFlight = new Promise<void>((resolve) => out.write(chunk, () => resolve()));
    }
    await Promise.race([inFlight, closing]);
    return !closed;
  } finally {
    out.off('close', onClose);
  }
}
