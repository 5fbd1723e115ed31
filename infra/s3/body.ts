// Receiving a request body: decoded when aws-chunked, checked against every integrity header it
// carries, counted against its declared length. Object bodies stream to a file; the small XML
// documents of a few operations are read into memory up to a limit.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { pipeline as pipelineCallback, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder, STREAMING_MODES } from './aws-chunked';
import { BodyChecks } from './checksums';
import { S3Error } from './errors';
import type { S3Call } from './call';

/** S3's limit for one PUT (and one part). */
export const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;
/** Writes are batched up to this much: few, large write(2)s. */
const FILE_BUFFER = 4 << 20;

interface Prepared {
  source: Readable[];
  length: number;
  checks: BodyChecks;
  decoder: AwsChunkedDecoder | undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

type BodyCall = Pick<S3Call, 'req' | 'auth' | 'body'>;

function prepare(call: BodyCall, maxBytes: number): Prepared {
  const { req, auth } = call;
  const streaming = auth.payloadHash.startsWith('STREAMING-');
  if (streaming && !(STREAMING_MODES as readonly string[]).includes(auth.payloadHash)) {
    throw new S3Error('InvalidArgument', `x-amz-content-sha256 "${auth.payloadHash.slice(0, 60)}" is not a streaming mode S3 knows`);
  }
  const lengthHeader = streaming ? 'x-amz-decoded-content-length' : 'content-length';
  const raw = header(req, lengthHeader);
  if (raw === undefined) throw new S3Error('MissingContentLength', `You must provide the ${streaming ? 'x-amz-decoded-content-length' : 'Content-Length'} HTTP header`);
  if (!/^\d+$/.test(raw)) throw new S3Error('InvalidArgument', `${lengthHeader} "${raw.slice(0, 40)}" is not a number`);
  const length = Number(raw);
  if (length > maxBytes) throw new S3Error('EntityTooLarge', `Your proposed upload of ${length} bytes exceeds the maximum allowed size of ${maxBytes}`);
  const checks = new BodyChecks();
  if (!streaming) checks.addPayloadHash(auth.payloadHash);
  checks.addContentMd5(header(req, 'content-md5'));
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-algorithm' && name !== 'x-amz-checksum-type' && typeof value === 'string') checks.addChecksum(name, value);
  }
  const trailer = header(req, 'x-amz-trailer');
  if (trailer) {
    if (!streaming || !auth.payloadHash.endsWith('-TRAILER')) throw new S3Error('InvalidRequest', 'x-amz-trailer needs a STREAMING-…-TRAILER payload');
    for (const name of trailer.split(',').map((s) => s.trim().toLowerCase())) checks.addChecksum(name, undefined);
  }
  const decoder = streaming ? new AwsChunkedDecoder(auth) : undefined;
  return { source: decoder ? [call.body, decoder] : [call.body], length, checks, decoder };
}

function checking(checks: BodyChecks): Transform {
  return new Transform({
    readableHighWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      checks.update(chunk);
      done(null, chunk);
    },
  });
}

function atMost(length: number): Transform {
  let seen = 0;
  return new Transform({
    readableHighWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > length) done(new S3Error('IncompleteBody', `The body carries more than the ${length} bytes x-amz-decoded-content-length declares`));
      else done(null, chunk);
    },
  });
}

function finishChecks(p: Prepared, received: number): void {
  if (received !== p.length) throw new S3Error('IncompleteBody', `You did not provide the number of bytes specified: received ${received} of ${p.length}`);
  if (p.decoder) for (const [name, value] of p.decoder.trailers) if (name.startsWith('x-amz-checksum-')) p.checks.expect(name, value);
  p.checks.verify();
}

function asS3Error(err: unknown): unknown {
  if (err instanceof S3Error) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED') {
    return new S3Error('IncompleteBody', 'The request body ended before all of it was received');
  }
  return err;
}

/** Streams the body into `path`; removes the file and throws when the body is wrong in any way. */
export async function receiveToFile(call: BodyCall, path: string, maxBytes = MAX_PUT_BYTES): Promise<number> {
  const p = prepare(call, maxBytes);
  const out = createWriteStream(path, { highWaterMark: FILE_BUFFER });
  try {
    // A decoded body may run past its declared length; a Content-Length one cannot (Node's parser bounds it).
    const bound = p.decoder ? [atMost(p.length)] : [];
    await pipeline([...p.source, ...bound, ...(p.checks.empty ? [] : [checking(p.checks)]), out]);
    finishChecks(p, out.bytesWritten);
    return out.bytesWritten;
  } catch (err) {
    await rm(path, { force: true });
    throw asS3Error(err);
  }
}

/** Reads a small body (an XML document) into memory. */
export async function receiveSmall(call: BodyCall, maxBytes: number): Promise<Buffer> {
  const p = prepare(call, maxBytes);
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    // The callback form forwards a broken request into the decoder, so the loop below ends.
    const source = p.decoder ? pipelineCallback(call.body, p.decoder, () => {}) : call.body;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > maxBytes) throw new S3Error('EntityTooLarge', `The request body exceeds ${maxBytes} bytes`);
      p.checks.update(chunk);
      chunks.push(chunk);
    }
  } catch (err) {
    throw asS3Error(err);
  }
  finishChecks(p, received);
  return Buffer.concat(chunks);
}
