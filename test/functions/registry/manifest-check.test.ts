import { describe, expect, it } from 'vitest';
import { parseRange } from '../../../functions/registry/blobs';
import { checkManifest } from '../../../functions/registry/manifest-check';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'ok';
};

describe('checkManifest', () => {
  it('lists what an image manifest needs, leaving foreign layers out', () => {
    const m = checkManifest(
      enc({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('a'), size: 1 },
        layers: [
          { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('b'), size: 2 },
          { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('c'), size: 3, urls: ['https://x'] },
        ],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('e'), size: 4 },
      }),
      undefined,
    );
    expect(m.blobs).toEqual([d('a'), d('b')]);
    expect(m.manifests).toEqual([]);
    expect(m.subject?.digest).toBe(d('e'));
    expect(m.artifactType).toBe('application/vnd.docker.container.image.v1+json');
  });

  it('lists an index’s children and infers media types the spec lets be omitted', () => {
    const m = checkManifest(enc({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('f'), size: 9 }] }), undefined);
    expect(m.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(m.manifests).toEqual([d('f')]);
  });

  it('refuses malformed documents with MANIFEST_INVALID', () => {
    const ok = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'a/b', digest: d('a'), size: 1 }, layers: [] };
    expect(code(() => checkManifest(enc(ok), 'application/vnd.oci.image.manifest.v1+json'))).toBe('ok');
    expect(code(() => checkManifest(enc(ok), 'application/vnd.oci.image.index.v1+json'))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(new TextEncoder().encode('{'), undefined))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(new Uint8Array([0xff, 0xfe]), undefined))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(enc({ ...ok, schemaVersion: 1 }), undefined))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(enc({ ...ok, layers: [{ mediaType: 'a/b', digest: 'sha256:x', size: 1 }] }), undefined))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(enc({ ...ok, layers: [{ mediaType: 'a/b', digest: d('a'), size: -1 }] }), undefined))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(enc({ ...ok, layers: 'no' }), undefined))).toBe('MANIFEST_INVALID');
    expect(code(() => checkManifest(enc([1]), undefined))).toBe('MANIFEST_INVALID');
  });
});

describe('parseRange', () => {
  it('reads byte ranges against a size', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('invalid');
    expect(parseRange('bytes=9-2', 100)).toBe('invalid');
    expect(parseRange('bytes=-', 100)).toBe('invalid');
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
});
