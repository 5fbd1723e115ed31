// DirectObjectIo on Node: the incoming request is piped into a presigned S3 PUT, and an S3 GET's
// response is piped into the outgoing response, socket to socket with Node's backpressure. No web
// stream, fetch or SDK layer touches the bytes; only the upload's hash sees each chunk.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { DirectObjectIo } from './direct-object-io';
import { relayGet } from './relay-get.node.ts';
import { presignUrl } from './presign';
import type { S3Config } from './s3';

/** Long enough for a 5 GiB body on a slow link; the URL never leaves this process. */
const URL_SECONDS = 3600;
/** Bytes of an upload that may wait for the S3 socket before the client is paused. */
const UPLOAD_WINDOW = 4 << 20;

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

function bindings(c: Context): NodeBindings {
  return (c.env ?? {}) as NodeBindings;
}

async function readError(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) if (chunks.length < 64) chunks.push(chunk as Buffer);
  return errorText(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
}

/** `403 AccessDenied Request has expired` from an S3 error answer's status and XML body. */
function errorText(status: number, body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  return `${status} ${code ?? ''} ${message ?? body.slice(0, 200)}`.trim();
}

/**
 * A Response telling @hono/node-server that the handler answered on the socket itself. Reading
 * `body` turns node-server's lightweight Response into a real one: its cached fast path would
 * otherwise write headers again, skipping the x-hono-already-sent check.
 */
function alreadySent(): Response {
  const res = new Response(null, { headers: RESPONSE_ALREADY_SENT.headers });
  void res.body;
  return res;
}

/** download() over plain HTTP: the body relayed through reused buffers (relay-get.node.ts). */
function relayDownload(
  outgoing: ServerResponse,
  key: string,
  target: string,
  range: { start: number; end: number } | undefined,
  status: number,
  headers: Record<string, string>,
): Promise<Response | undefined> {
  return new Promise((resolve, reject) => {
    const relay = relayGet(new URL(target), range && `bytes=${range.start}-${range.end}`, (head) => {
      if (head.status !== 200 && head.status !== 206) return undefined;
      outgoing.writeHead(status, { ...headers, 'Content-Length': head.headers['content-length'] ?? '0' });
      resolve(alreadySent());
      return outgoing;
    });
    // Once the head went out, the handler has returned: a failure later only cuts the body short.
    relay.then(({ head, text }) => {
      if (head.status === 404) resolve(undefined);
      else if (text !== undefined) reject(new Error(`Cannot read object "${key}": S3 answered ${errorText(head.status, text)}`));
    }, reject);
  });
}

export function createDirectObjectIo(config: S3Config): DirectObjectIo {
  const secure = (config.endpoint ?? 'https:').startsWith('https:');
  const request = secure ? httpsRequest : httpRequest;
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const url = (method: 'GET' | 'PUT', key: string) => presignUrl(method, { config, key, expiresInSeconds: URL_SECONDS });

  return {
    upload(c, key, length, onChunk) {
      const { incoming } = bindings(c);
      if (!incoming || incoming.readableDidRead || incoming.readableEnded) return undefined;
      return url('PUT', key).then(
        (target) =>
          new Promise<number>((resolve, reject) => {
            let received = 0;
            const put = request(target, { method: 'PUT', agent, headers: { 'content-length': length } });
            put.on('response', (res) => {
              if (res.statusCode === 200) {
                res.resume();
                resolve(received);
              } else void readError(res).then((e) => reject(new Error(`Cannot store object "${key}": S3 answered ${e}`)), reject);
            });
            put.on('error', reject);
            // Not pipe(): it pauses the client at the PUT's 16 KiB high-water mark, so every 64 KiB
            // read waited for the S3 socket to drain before the next. Here up to UPLOAD_WINDOW bytes
            // may wait for S3 while the client keeps sending.
            let corked = false;
            incoming.on('data', (chunk: Buffer) => {
              received += chunk.length;
              onChunk(chunk);
              // The reads of one event-loop turn (libuv reads a ready socket up to 32 times) go to S3
              // as one writev instead of a write per 64 KiB.
              if (!corked) {
                corked = true;
                put.cork();
                setImmediate(() => {
                  corked = false;
                  put.uncork();
                });
              }
              put.write(chunk);
              if (put.writableLength > UPLOAD_WINDOW && !incoming.isPaused()) {
                incoming.pause();
                put.once('drain', () => incoming.resume());
              }
            });
            incoming.on('end', () => put.end());
            // A body cut short must not end the PUT as if it were whole.
            incoming.on('close', () => {
              if (!incoming.complete) put.destroy(new Error(`Cannot store object "${key}": the request body ended after ${received} of ${length} bytes`));
            });
          }),
      );
    },

    async download(c, key, range, status, headers) {
      const { outgoing } = bindings(c);
      if (!outgoing) return undefined;
      const target = await url('GET', key);
      if (!secure) return relayDownload(outgoing, key, target, range, status, headers);
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const get = request(target, { method: 'GET', agent, headers: range ? { range: `bytes=${range.start}-${range.end}` } : {} }, resolve);
        get.on('error', reject);
        get.end();
      });
      if (res.statusCode === 404) {
        res.resume();
        return undefined;
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) throw new Error(`Cannot read object "${key}": S3 answered ${await readError(res)}`);
      outgoing.writeHead(status, { ...headers, 'Content-Length': res.headers['content-length'] ?? '0' });
      // The handler returns now; a client that leaves mid-body ends both sockets' transfer.
      void pipeline(res, outgoing).catch(() => {});
      return alreadySent();
    },
  };
}
