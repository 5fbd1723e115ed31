import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from '../../../infra/s3/aws-chunked';
import { chunkSignature, deriveSigningKey, EMPTY_SHA256, sha256Hex, trailerSignature, type Authentication } from '../../../infra/s3/sigv4';

const signing = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
  signingKey: deriveSigningKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
  signature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
};

/** A signed aws-chunked body of `chunks`, each chunk signed as a client would. */
function signedBody(auth: Authentication, chunks: Buffer[], trailer?: string): Buffer {
  const out: Buffer[] = [];
  let previous = auth.signature;
  for (const c of [...chunks, Buffer.alloc(0)]) {
    previous = chunkSignature(auth, previous, c.length ? sha256Hex(c) : EMPTY_SHA256);
    out.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${previous}\r\n`), c, Buffer.from(c.length ? '\r\n' : ''));
  }
  if (trailer !== undefined) {
    out.push(Buffer.from(`${trailer}\r\n`));
    out.push(Buffer.from(`x-amz-trailer-signature:${trailerSignature(auth, previous, `${trailer}\n`)}\r\n\r\n`));
  } else out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** Feeds `body` in pieces of `piece` bytes, so headers and CRLFs split across reads. */
async function decode(auth: Authentication, body: Buffer, piece = 7): Promise<{ data: string; decoder: AwsChunkedDecoder }> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += piece) pieces.push(body.subarray(i, i + piece));
  const decoder = new AwsChunkedDecoder(auth);
  const data = await text(Readable.from(pieces).pipe(decoder));
  return { data, decoder };
}

function crc32Base64(s: string): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(s) >>> 0);
  return b.toString('base64');
}

describe('AwsChunkedDecoder', () => {
  const auth = { ...signing, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' };

  it('passes the data of a signed body through, checking every chunk signature, however the reads split', async () => {
    const body = signedBody(auth, [Buffer.alloc(65536, 'a'), Buffer.alloc(1024, 'b')]);
    for (const piece of [1, 7, 65536, body.length]) {
      const { data } = await decode(auth, body, piece);
      expect(data).toBe('a'.repeat(65536) + 'b'.repeat(1024));
    }
  });

  it('refuses a body whose data was changed after signing, or that stops early', async () => {
    const body = signedBody(auth, [Buffer.from('hello world')]);
    const tampered = Buffer.from(body.toString('latin1').replace('hello', 'jello'), 'latin1');
    await expect(decode(auth, tampered)).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
    await expect(decode(auth, body.subarray(0, body.length - 90))).rejects.toMatchObject({ code: 'IncompleteBody' });
  });

  it('reads unsigned chunks and their trailing checksum', async () => {
    const unsigned = { ...signing, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' };
    const body = Buffer.from(`5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:${crc32Base64('hello world')}\r\n\r\n`);
    const { data, decoder } = await decode(unsigned, body);
    expect(data).toBe('hello world');
    expect(decoder.trailers.get('x-amz-checksum-crc32')).toBe(crc32Base64('hello world'));
    await expect(decode(unsigned, Buffer.from('zz\r\nhello\r\n'))).rejects.toMatchObject({ code: 'IncompleteBody' });
  });

  it('checks the signature over signed trailers', async () => {
    const trailing = { ...signing, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' };
    const trailer = `x-amz-checksum-crc32:${crc32Base64('abc')}`;
    const body = signedBody(trailing, [Buffer.from('abc')], trailer);
    expect((await decode(trailing, body)).decoder.trailers.get('x-amz-checksum-crc32')).toBe(crc32Base64('abc'));
    const forged = Buffer.from(body.toString('latin1').replace(crc32Base64('abc'), crc32Base64('abd')), 'latin1');
    await expect(decode(trailing, forged)).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });
});
