// The integrity checks a request body can carry: x-amz-content-sha256 (a hex hash), Content-MD5 and
// the x-amz-checksum-* family. Each is computed while the body streams and compared at its end;
// a mismatch fails the request before the object becomes visible.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { S3Error } from './errors';

interface Running {
  update(data: Uint8Array): void;
  /** The value in the header's encoding. */
  result(): string;
}

function hashOf(alg: string, encoding: 'hex' | 'base64'): Running {
  const h: Hash = createHash(alg);
  return { update: (d) => void h.update(d), result: () => h.digest(encoding) };
}

function crc32Running(): Running {
  let value = 0;
  return {
    update: (d) => void (value = crc32(d, value)),
    result: () => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(value >>> 0);
      return b.toString('base64');
    },
  };
}

interface Check {
  header: string;
  /** Undefined until a trailing checksum arrives; a trailer that never brings it fails the check. */
  expected: string | undefined;
  running: Running;
  code: string;
}

/** A set of checks for one body; `update` each chunk, then `verify`. */
export class BodyChecks {
  private checks: Check[] = [];

  get empty(): boolean {
    return this.checks.length === 0;
  }

  /** x-amz-content-sha256 when it is a hash (not UNSIGNED-PAYLOAD or a streaming mode). */
  addPayloadHash(value: string): void {
    if (!/^[0-9a-f]{64}$/.test(value)) return;
    this.checks.push({ header: 'x-amz-content-sha256', expected: value, running: hashOf('sha256', 'hex'), code: 'XAmzContentSHA256Mismatch' });
  }

  addContentMd5(value: string | undefined): void {
    if (value === undefined) return;
    if (!/^[A-Za-z0-9+/]{22}==$/.test(value)) throw new S3Error('InvalidDigest', `The Content-MD5 you specified ("${value.slice(0, 40)}") is not valid base64 of 16 bytes`);
    this.checks.push({ header: 'Content-MD5', expected: value, running: hashOf('md5', 'base64'), code: 'BadDigest' });
  }

  /**
   * An x-amz-checksum-<alg> value. CRC32, SHA-1 and SHA-256 are verified; CRC32C and CRC64NVME
   * (which Node cannot compute natively) are accepted as given.
   */
  addChecksum(header: string, value: string | undefined): void {
    const alg = header.toLowerCase().replace(/^x-amz-checksum-/, '');
    const running = alg === 'crc32' ? crc32Running() : alg === 'sha1' ? hashOf('sha1', 'base64') : alg === 'sha256' ? hashOf('sha256', 'base64') : undefined;
    if (!['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'].includes(alg)) {
      throw new S3Error('InvalidRequest', `Checksum "${header.slice(0, 60)}" is not one S3 knows (crc32, crc32c, crc64nvme, sha1, sha256)`);
    }
    if (running) this.checks.push({ header: header.toLowerCase(), expected: value, running, code: 'BadDigest' });
  }

  /** The value of a checksum announced in x-amz-trailer, once the trailer brought it. */
  expect(header: string, value: string): void {
    for (const c of this.checks) if (c.header === header) c.expected = value;
  }

  update(data: Uint8Array): void {
    for (const c of this.checks) c.running.update(data);
  }

  verify(): void {
    for (const c of this.checks) {
      const actual = c.running.result();
      if (c.expected === undefined) throw new S3Error('InvalidRequest', `The trailer announced ${c.header} but did not carry it`);
      if (actual !== c.expected) {
        throw new S3Error(c.code, `The ${c.header} you specified ("${c.expected}") did not match what was received ("${actual}")`);
      }
    }
  }
}
