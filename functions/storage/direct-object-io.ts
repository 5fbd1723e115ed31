// A runtime's shortcut for the registry's two bulk byte paths: a request body into an S3 object,
// and an S3 object out as the response. On Node, going through web streams, undici and the SDK
// costs the functions process more CPU than the bytes themselves (see test/bench/registry.ts); the
// Node entry supplies an implementation that pipes sockets (direct-object-io.node.ts). Workers has
// none and takes the portable path.
import type { Context } from 'hono';

export interface DirectObjectIo {
  /**
   * Streams the request's body into object `key`, exactly `length` bytes, handing each chunk to
   * `onChunk` on the way. Resolves with the bytes received; rejects when the body ends early or S3
   * refuses. Undefined when this request cannot be served directly (its body was already read).
   */
  upload(c: Context, key: string, length: number, onChunk: (chunk: Uint8Array) => void): Promise<number> | undefined;
  /**
   * Sends object `key` (or the inclusive `range` of it) as the response with `status` and `headers`
   * (Content-Length comes from S3). Resolves with the Response to return from the handler, or
   * undefined when S3 has no such object (nothing was sent).
   */
  download(c: Context, key: string, range: { start: number; end: number } | undefined, status: number, headers: Record<string, string>): Promise<Response | undefined>;
}
