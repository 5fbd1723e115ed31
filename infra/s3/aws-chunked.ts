// Decodes an aws-chunked request body (x-amz-content-sha256: STREAMING-…): `<hex size>[;chunk-
// signature=<sig>]\r\n<data>\r\n` … a zero-size chunk, then trailing headers in the *-TRAILER modes.
// Signed modes chain every chunk's signature from the request's and are verified chunk by chunk;
// the bytes pass through as they arrive (the caller commits the object only once the body ends well).
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './errors';
import { EMPTY_SHA256, chunkSignature, safeEqual, trailerSignature, type Authentication } from './sigv4';

export const STREAMING_MODES = [
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
] as const;

const MAX_LINE = 4096;
const CRLF = Buffer.from('\r\n');

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  private state: State = 'size';
  private line: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSig = '';
  private previousSig: string;
  private readonly signed: boolean;
  private readonly trailing: boolean;
  private trailerLines: string[] = [];
  private crlfSeen = 0;
  /** Trailing headers received (name lower-cased → value). */
  readonly trailers = new Map<string, string>();

  constructor(private readonly auth: Authentication) {
    super({ readableHighWaterMark: 1 << 20 });
    this.signed = auth.payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    this.trailing = auth.payloadHash.endsWith('-TRAILER');
    this.previousSig = auth.signature;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state !== 'done') return done(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk'));
    done();
  }

  private consume(buf: Buffer): void {
    let at = 0;
    while (at < buf.length) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, buf.length - at);
        const piece = buf.subarray(at, at + n);
        this.chunkHash?.update(piece);
        this.push(piece);
        this.remaining -= n;
        at += n;
        if (this.remaining === 0) {
          this.endChunk();
          this.state = 'data-crlf';
          this.crlfSeen = 0;
        }
      } else if (this.state === 'data-crlf') {
        if (buf[at] !== CRLF[this.crlfSeen]) throw malformed('a chunk is not followed by CRLF');
        at++;
        if (++this.crlfSeen === 2) this.state = 'size';
      } else if (this.state === 'done') {
        // Only line ends may follow the end of the body.
        if (buf[at] !== 13 && buf[at] !== 10) throw malformed('bytes follow the final chunk');
        at++;
      } else {
        const nl = buf.indexOf(10, at);
        const end = nl < 0 ? buf.length : nl + 1;
        this.line = this.line.length ? Buffer.concat([this.line, buf.subarray(at, end)]) : buf.subarray(at, end);
        at = end;
        if (this.line.length > MAX_LINE) throw malformed('a chunk header is too long');
        if (nl < 0) {
          this.line = Buffer.from(this.line);
          continue;
        }
        const text = this.line.toString('latin1').replace(/\r?\n$/, '');
        this.line = Buffer.alloc(0);
        if (this.state === 'size') this.startChunk(text);
        else this.trailerLine(text);
      }
    }
  }

  private startChunk(header: string): void {
    const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header);
    if (!m) throw malformed(`the chunk header "${header.slice(0, 100)}" is not <hex size>[;chunk-signature=<sig>]`);
    if (this.signed && !m[2]) throw malformed('a chunk of a signed stream has no chunk-signature');
    this.remaining = parseInt(m[1]!, 16);
    this.chunkSig = m[2] ?? '';
    this.chunkHash = this.signed ? createHash('sha256') : undefined;
    if (this.remaining > 0) {
      this.state = 'data';
      return;
    }
    this.endChunk();
    // After the final chunk come the trailing headers, or (without them) a CRLF that 'done' skips.
    this.state = this.trailing ? 'trailer' : 'done';
  }

  private endChunk(): void {
    if (!this.signed) return;
    const digest = this.chunkHash ? this.chunkHash.digest('hex') : EMPTY_SHA256;
    const expected = chunkSignature(this.auth, this.previousSig, digest);
    if (!safeEqual(expected, this.chunkSig)) {
      throw new S3Error('SignatureDoesNotMatch', 'The signature of a chunk of the aws-chunked body does not match its data');
    }
    this.previousSig = expected;
  }

  private trailerLine(line: string): void {
    if (line === '') {
      if (this.signed) throw malformed('the trailer has no x-amz-trailer-signature');
      this.state = 'done';
      return;
    }
    const i = line.indexOf(':');
    if (i <= 0) throw malformed(`the trailer line "${line.slice(0, 100)}" is not name:value`);
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      const expected = trailerSignature(this.auth, this.previousSig, this.trailerLines.map((l) => `${l}\n`).join(''));
      if (!safeEqual(expected, value)) throw new S3Error('SignatureDoesNotMatch', 'The trailer signature of the aws-chunked body does not match its trailing headers');
      this.state = 'done';
      return;
    }
    this.trailerLines.push(`${name}:${value}`);
    this.trailers.set(name, value);
  }
}

function malformed(detail: string): S3Error {
  return new S3Error('IncompleteBody', `Cannot decode the aws-chunked body: ${detail}`);
}
