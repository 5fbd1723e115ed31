// SHA-256 and SHA-512 (FIPS 180-4) in plain TypeScript with a state that serialises to a string.
// WebCrypto has no streaming digest, and a registry upload arrives in chunks that may land on
// different function instances: the running state travels between them through Postgres.
import { toHex } from './hash';

export type ShaAlgorithm = 'sha256' | 'sha512';

/** An incremental hash. `exportState` captures everything needed to continue elsewhere. */
export interface ResumableHash {
  readonly algorithm: ShaAlgorithm;
  /** Bytes hashed so far. */
  readonly length: number;
  update(data: Uint8Array): void;
  /** The hex digest. The hash must not be updated afterwards. */
  digestHex(): string;
  exportState(): string;
}

const K256 = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV256 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// SHA-512 constants as (hi, lo) pairs.
const K512 = new Int32Array(
  [
    '428a2f98d728ae22', '7137449123ef65cd', 'b5c0fbcfec4d3b2f', 'e9b5dba58189dbbc', '3956c25bf348b538', '59f111f1b605d019', '923f82a4af194f9b',
    'ab1c5ed5da6d8118', 'd807aa98a3030242', '12835b0145706fbe', '243185be4ee4b28c', '550c7dc3d5ffb4e2', '72be5d74f27b896f', '80deb1fe3b1696b1',
    '9bdc06a725c71235', 'c19bf174cf692694', 'e49b69c19ef14ad2', 'efbe4786384f25e3', '0fc19dc68b8cd5b5', '240ca1cc77ac9c65', '2de92c6f592b0275',
    '4a7484aa6ea6e483', '5cb0a9dcbd41fbd4', '76f988da831153b5', '983e5152ee66dfab', 'a831c66d2db43210', 'b00327c898fb213f', 'bf597fc7beef0ee4',
    'c6e00bf33da88fc2', 'd5a79147930aa725', '06ca6351e003826f', '142929670a0e6e70', '27b70a8546d22ffc', '2e1b21385c26c926', '4d2c6dfc5ac42aed',
    '53380d139d95b3df', '650a73548baf63de', '766a0abb3c77b2a8', '81c2c92e47edaee6', '92722c851482353b', 'a2bfe8a14cf10364', 'a81a664bbc423001',
    'c24b8b70d0f89791', 'c76c51a30654be30', 'd192e819d6ef5218', 'd69906245565a910', 'f40e35855771202a', '106aa07032bbd1b8', '19a4c116b8d2d0c8',
    '1e376c085141ab53', '2748774cdf8eeb99', '34b0bcb5e19b48a8', '391c0cb3c5c95a63', '4ed8aa4ae3418acb', '5b9cca4f7763e373', '682e6ff3d6b2b8a3',
    '748f82ee5defb2fc', '78a5636f43172f60', '84c87814a1f0ab72', '8cc702081a6439ec', '90befffa23631e28', 'a4506cebde82bde9', 'bef9a3f7b2c67915',
    'c67178f2e372532b', 'ca273eceea26619c', 'd186b8c721c0c207', 'eada7dd6cde0eb1e', 'f57d4f7fee6ed178', '06f067aa72176fba', '0a637dc5a2c898a6',
    '113f9804bef90dae', '1b710b35131c471b', '28db77f523047d84', '32caab7b40c72493', '3c9ebe0a15c9bebc', '431d67c49c100d4c', '4cc5d4becb3e42b6',
    '597f299cfc657e2a', '5fcb6fab3ad6faec', '6c44198c4a475817',
  ].flatMap((h) => [parseInt(h.slice(0, 8), 16) | 0, parseInt(h.slice(8), 16) | 0]),
);
const IV512 = [
  0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1, 0x510e527f, 0xade682d1, 0x9b05688c,
  0x2b3e6c1f, 0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179,
];

/** Compresses every whole block of `data[off, end)` into `h`; returns the bytes consumed. */
function blocks256(h: Int32Array, w: Int32Array, data: Uint8Array, off: number, end: number): number {
  let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!;
  const start = off;
  while (end - off >= 64) {
    for (let i = 0; i < 16; i++, off += 4) {
      w[i] = (data[off]! << 24) | (data[off + 1]! << 16) | (data[off + 2]! << 8) | data[off + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!, y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K256[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + hh) | 0;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
  return off - start;
}

/** SHA-512 on (hi, lo) 32-bit pairs: h has 16 words, w has 160. */
function blocks512(h: Int32Array, w: Int32Array, data: Uint8Array, off: number, end: number): number {
  const start = off;
  while (end - off >= 128) {
    for (let i = 0; i < 32; i++, off += 4) {
      w[i] = (data[off]! << 24) | (data[off + 1]! << 16) | (data[off + 2]! << 8) | data[off + 3]!;
    }
    for (let i = 32; i < 160; i += 2) {
      // σ0(w[t-15]) = rotr1 ^ rotr8 ^ shr7
      let xh = w[i - 30]!, xl = w[i - 29]!;
      const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
      const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
      // σ1(w[t-2]) = rotr19 ^ rotr61 ^ shr6
      xh = w[i - 4]!;
      xl = w[i - 3]!;
      const s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6);
      const s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26));
      let lo = (s0l >>> 0) + (s1l >>> 0) + (w[i - 13]! >>> 0) + (w[i - 31]! >>> 0);
      const hi = s0h + s1h + w[i - 14]! + w[i - 32]! + ((lo / 0x100000000) | 0);
      lo = lo | 0;
      w[i] = hi | 0;
      w[i + 1] = lo;
    }
    let ah = h[0]!, al = h[1]!, bh = h[2]!, bl = h[3]!, ch = h[4]!, cl = h[5]!, dh = h[6]!, dl = h[7]!;
    let eh = h[8]!, el = h[9]!, fh = h[10]!, fl = h[11]!, gh = h[12]!, gl = h[13]!, hh = h[14]!, hl = h[15]!;
    for (let i = 0; i < 160; i += 2) {
      // Σ1(e) = rotr14 ^ rotr18 ^ rotr41
      const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
      const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
      const chh = (eh & fh) ^ (~eh & gh);
      const chl = (el & fl) ^ (~el & gl);
      let t1l = (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + (K512[i + 1]! >>> 0) + (w[i + 1]! >>> 0);
      const t1h = (hh + S1h + chh + K512[i]! + w[i]! + ((t1l / 0x100000000) | 0)) | 0;
      t1l = t1l | 0;
      // Σ0(a) = rotr28 ^ rotr34 ^ rotr39
      const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
      const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
      const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
      const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
      let t2l = (S0l >>> 0) + (majl >>> 0);
      const t2h = (S0h + majh + ((t2l / 0x100000000) | 0)) | 0;
      t2l = t2l | 0;
      hh = gh; hl = gl;
      gh = fh; gl = fl;
      fh = eh; fl = el;
      let l = (dl >>> 0) + (t1l >>> 0);
      eh = (dh + t1h + ((l / 0x100000000) | 0)) | 0;
      el = l | 0;
      dh = ch; dl = cl;
      ch = bh; cl = bl;
      bh = ah; bl = al;
      l = (t1l >>> 0) + (t2l >>> 0);
      ah = (t1h + t2h + ((l / 0x100000000) | 0)) | 0;
      al = l | 0;
    }
    const add = (i: number, xh: number, xl: number) => {
      const l = (h[i + 1]! >>> 0) + (xl >>> 0);
      h[i] = (h[i]! + xh + ((l / 0x100000000) | 0)) | 0;
      h[i + 1] = l | 0;
    };
    add(0, ah, al); add(2, bh, bl); add(4, ch, cl); add(6, dh, dl);
    add(8, eh, el); add(10, fh, fl); add(12, gh, gl); add(14, hh, hl);
  }
  return off - start;
}

const SPEC = {
  sha256: { block: 64, lengthBytes: 8, words: 8, wSize: 64, iv: IV256, compress: blocks256 },
  sha512: { block: 128, lengthBytes: 16, words: 16, wSize: 160, iv: IV512, compress: blocks512 },
} as const;

class Sha2 implements ResumableHash {
  length: number;
  private readonly h: Int32Array;
  private readonly w: Int32Array;
  private readonly buf: Uint8Array;
  private bufLen: number;
  private readonly spec: (typeof SPEC)[ShaAlgorithm];

  constructor(
    readonly algorithm: ShaAlgorithm,
    init?: { h: Int32Array; length: number; buffered: Uint8Array },
  ) {
    this.spec = SPEC[algorithm];
    this.h = init ? init.h : Int32Array.from(this.spec.iv);
    this.w = new Int32Array(this.spec.wSize);
    this.buf = new Uint8Array(this.spec.block);
    this.length = init?.length ?? 0;
    this.bufLen = init?.buffered.length ?? 0;
    if (init) this.buf.set(init.buffered);
  }

  update(data: Uint8Array): void {
    const { block, compress } = this.spec;
    this.length += data.length;
    let off = 0;
    if (this.bufLen > 0) {
      const take = Math.min(block - this.bufLen, data.length);
      this.buf.set(data.subarray(0, take), this.bufLen);
      this.bufLen += take;
      off = take;
      if (this.bufLen < block) return;
      compress(this.h, this.w, this.buf, 0, block);
      this.bufLen = 0;
    }
    off += compress(this.h, this.w, data, off, data.length);
    if (off < data.length) {
      this.buf.set(data.subarray(off), 0);
      this.bufLen = data.length - off;
    }
  }

  digestHex(): string {
    const { block, lengthBytes, compress } = this.spec;
    const tail = new Uint8Array(this.bufLen + 1 + lengthBytes <= block ? block : block * 2);
    tail.set(this.buf.subarray(0, this.bufLen));
    tail[this.bufLen] = 0x80;
    // Message length in bits, big-endian, in the last 8 bytes (the upper bytes of SHA-512's 16 stay 0).
    const bits = this.length * 8;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(tail.length - 4, bits >>> 0);
    compress(this.h, this.w, tail, 0, tail.length);
    const out = new Uint8Array(this.h.length * 4);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < this.h.length; i++) ov.setUint32(i * 4, this.h[i]!);
    return toHex(out);
  }

  exportState(): string {
    const words = new Uint8Array(this.h.length * 4);
    const v = new DataView(words.buffer);
    for (let i = 0; i < this.h.length; i++) v.setUint32(i * 4, this.h[i]!);
    return `${this.algorithm}:${this.length}:${toHex(words)}:${toHex(this.buf.subarray(0, this.bufLen))}`;
  }
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function createResumableHash(algorithm: ShaAlgorithm): ResumableHash {
  return new Sha2(algorithm);
}

/** Continues a hash from `exportState()`'s string; throws when the string is not one. */
export function resumeHash(state: string): ResumableHash {
  const m = /^(sha256|sha512):(\d+):([0-9a-f]+):([0-9a-f]*)$/.exec(state);
  const alg = m?.[1] as ShaAlgorithm | undefined;
  if (!m || !alg || m[3]!.length !== SPEC[alg].words * 8 || m[4]!.length / 2 >= SPEC[alg].block) {
    throw new Error(`Cannot resume hash from state "${state.slice(0, 40)}": malformed`);
  }
  const bytes = fromHex(m[3]!);
  const h = new Int32Array(SPEC[alg].words);
  const v = new DataView(bytes.buffer);
  for (let i = 0; i < h.length; i++) h[i] = v.getInt32(i * 4);
  const length = Number(m[2]);
  const buffered = fromHex(m[4]!);
  if (length % SPEC[alg].block !== buffered.length) throw new Error(`Cannot resume hash from state "${state.slice(0, 40)}": length and buffer disagree`);
  return new Sha2(alg, { h, length, buffered });
}
