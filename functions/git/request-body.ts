// A git client's request body, read whole under a byte limit (gzip when the client compressed it).

export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    /** The body's first bytes, so the caller can still read a push's commands. */
    readonly head: Uint8Array,
  ) {
    super(`the request is larger than the ${limit}-byte limit`);
  }
}

/**
 * Reads the body; past `limit` bytes it keeps draining (so the client reads our answer rather
 * than a reset connection) and throws BodyTooLargeError at the end.
 */
export async function readGitRequestBody(req: Request, limit: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  let stream: ReadableStream<Uint8Array> = req.body;
  const encoding = req.headers.get('content-encoding')?.toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = stream.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
  const parts: Uint8Array[] = [];
  let total = 0;
  let over = false;
  let head: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  const reader = (stream as ReadableStream<Uint8Array<ArrayBuffer>>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) throw new Error('Cannot read the request: the body is not bytes');
    total += value.length;
    if (total > limit) {
      if (!over) head = concat(parts, Math.min(64 * 1024, total - value.length));
      over = true;
      parts.length = 0;
      // Stop draining at some multiple of the limit: a client that never ends is cut off.
      if (total > limit * 4 + 64 * 1024 * 1024) {
        await reader.cancel();
        break;
      }
      continue;
    }
    parts.push(value);
  }
  if (over) throw new BodyTooLargeError(limit, head);
  return concat(parts, total);
}

function concat(parts: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    if (o >= size) break;
    const piece = p.subarray(0, size - o);
    out.set(piece, o);
    o += piece.length;
  }
  return out;
}
