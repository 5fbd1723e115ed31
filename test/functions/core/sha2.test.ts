import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createResumableHash, resumeHash, type ShaAlgorithm } from '../../../functions/core/sha2';

const enc = (s: string) => new TextEncoder().encode(s);

// FIPS 180-4 example vectors.
const VECTORS: [ShaAlgorithm, string, string][] = [
  ['sha256', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['sha256', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['sha256', 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['sha512', 'abc', 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'],
  ['sha512', '', 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e'],
  [
    'sha512',
    'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
  ],
];

describe('resumable SHA-2', () => {
  it.each(VECTORS)('%s of %j matches the FIPS vector', (alg, input, hex) => {
    const h = createResumableHash(alg);
    h.update(enc(input));
    expect(h.digestHex()).toBe(hex);
  });

  it.each(['sha256', 'sha512'] as const)('%s matches node:crypto at every length around block edges, fed in odd chunks and resumed', (alg) => {
    const data = crypto.getRandomValues(new Uint8Array(1200));
    for (let n = 0; n <= 300; n++) {
      const slice = data.subarray(0, n * 4 - (n % 3));
      const want = createHash(alg).update(slice).digest('hex');
      let h = createResumableHash(alg);
      for (let off = 0; off < slice.length; off += 37 + (off % 11)) {
        h.update(slice.subarray(off, off + 37 + (off % 11)));
        h = resumeHash(h.exportState());
      }
      expect(h.length).toBe(slice.length);
      expect(h.digestHex()).toBe(want);
    }
  });

  it('a million a (the long FIPS vector) for both', () => {
    const chunk = new Uint8Array(1000).fill(0x61);
    const h256 = createResumableHash('sha256');
    const h512 = createResumableHash('sha512');
    for (let i = 0; i < 1000; i++) {
      h256.update(chunk);
      h512.update(chunk);
    }
    expect(h256.digestHex()).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
    expect(h512.digestHex()).toBe('e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b');
  });

  it('refuses a malformed state', () => {
    expect(() => resumeHash('sha256:1:00:')).toThrow(/Cannot resume hash/);
    expect(() => resumeHash(`sha256:3:${'0'.repeat(64)}:00`)).toThrow(/disagree/);
  });
});
