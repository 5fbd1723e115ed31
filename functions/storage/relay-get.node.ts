// A GET of one object over plain HTTP/1.1, its body relayed into a response through a few reused
// buffers. Node's HTTP client allocates a buffer per 64 KiB socket read and runs every piece through
// streams; relaying a blob that way cost the functions process three times the CPU of the S3 server
// that read it from disk. Here the socket reads straight into buffers of our own (up to 1 MiB per
// read), each written on to the client and reused once the client's socket has taken it.
import { connect, type Socket } from 'node:net';
import type { ServerResponse } from 'node:http';

const BUFFER_BYTES = 1 << 20;
/** Buffers written on but not yet taken by the client's socket; reading pauses at this many. */
const MAX_IN_FLIGHT = 4;
const MAX_HEAD_BYTES = 64 << 10;

export interface RelayHead {
  status: number;
  headers: Record<string, string>;
}

/**
 * Sends `GET target` (with `Range` when given) and calls `onHead` with the status and headers. When
 * onHead returns a response, the body is relayed into it (which then ends) and the promise resolves
 * with the status; when it returns undefined, the body is collected (up to 64 KiB) and returned as text,
 * for error answers.
 */
export function relayGet(
  target: URL,
  range: string | undefined,
  onHead: (head: RelayHead) => ServerResponse | undefined,
): Promise<{ head: RelayHead; text?: string }> {
  return new Promise((resolve, reject) => {
    const pool: Buffer[] = [];
    let inFlight = 0;
    let paused = false;
    let head: RelayHead | undefined;
    let headBytes = Buffer.alloc(0);
    let out: ServerResponse | undefined;
    let remaining = 0;
    let text = '';
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) {
        out?.destroy(err);
        reject(err);
      } else resolve({ head: head!, ...(out ? {} : { text }) });
    };
    const takeBuffer = () => pool.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);

    /** `buffer` goes back to the pool once `chunk` (a view of it, if any) is no longer needed. */
    const onBody = (chunk: Buffer, buffer: Buffer | undefined): boolean => {
      remaining -= chunk.length;
      if (remaining < 0) {
        settle(new Error(`Cannot read object: S3 sent more than its Content-Length`));
        return false;
      }
      if (!out) {
        if (text.length < MAX_HEAD_BYTES) text += chunk.toString('utf8');
        if (buffer) pool.push(buffer);
      } else {
        inFlight++;
        const last = remaining === 0;
        out.write(chunk, () => {
          inFlight--;
          if (buffer) pool.push(buffer);
          if (paused && !settled && inFlight < MAX_IN_FLIGHT) {
            paused = false;
            socket.resume();
          }
        });
        if (last) {
          out.end();
          settle();
          return false;
        }
      }
      if (remaining === 0) {
        settle();
        return false;
      }
      // Returning false stops the socket's reads until a write calls back (socket.resume()).
      paused = inFlight >= MAX_IN_FLIGHT;
      return !paused;
    };

    const onHeadBytes = (chunk: Buffer, buffer: Buffer): boolean => {
      headBytes = Buffer.concat([headBytes, chunk]);
      const end = headBytes.indexOf('\r\n\r\n');
      if (end < 0) {
        pool.push(buffer);
        if (headBytes.length > MAX_HEAD_BYTES) settle(new Error('Cannot read object: S3 sent a response head over 64 KiB'));
        return true;
      }
      const lines = headBytes.subarray(0, end).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (!status) {
        settle(new Error(`Cannot read object: S3 answered "${(lines[0] ?? '').slice(0, 80)}", not HTTP/1.1`));
        return false;
      }
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (headers['transfer-encoding'] || !/^\d+$/.test(headers['content-length'] ?? '')) {
        settle(new Error('Cannot read object: S3 answered without a Content-Length'));
        return false;
      }
      head = { status: Number(status[1]), headers };
      remaining = Number(headers['content-length']);
      try {
        out = onHead(head);
      } catch (err) {
        settle(err as Error);
        return false;
      }
      if (out) out.once('close', () => settle(out!.writableFinished ? undefined : new Error('The client went away')));
      // What followed the head in this read is the body's start; it is copied, as its buffer goes back.
      const rest = Buffer.from(headBytes.subarray(end + 4));
      pool.push(buffer);
      if (remaining === 0) {
        out?.end();
        settle();
        return false;
      }
      return rest.length ? onBody(rest, undefined) : true;
    };

    const socket: Socket = connect({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: Number(target.port || 80),
      onread: {
        buffer: takeBuffer,
        callback: (nread: number, buffer: Uint8Array) => {
          const buf = buffer as Buffer;
          const chunk = buf.subarray(0, nread);
          return head ? onBody(chunk, buf) : onHeadBytes(chunk, buf);
        },
      },
    });
    socket.setNoDelay(true);
    socket.on('error', (err) => settle(new Error(`Cannot read object: ${err.message}`)));
    const early = () => settle(new Error('Cannot read object: S3 closed the connection before the whole body'));
    socket.on('end', early);
    socket.on('close', early);
    // Flowing mode, so the end of the stream is reported although no data event is ever emitted.
    socket.resume();
    const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, 'Connection: close'];
    if (range) lines.push(`Range: ${range}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}
