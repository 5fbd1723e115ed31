// Builds OCI image layouts on disk for real-client tests: images of random tar layers, and indexes
// of several platforms. No Docker Hub here, so every image is made from scratch.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ustarOf } from '../../support/ustar';

export interface Blob {
  digest: string;
  size: number;
  mediaType: string;
}

function sha(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A ustar archive of one file holding `content` (uncompressed layers keep digest = diff_id). */
export function tarOf(name: string, content: Uint8Array): Uint8Array {
  return ustarOf({ [name]: content });
}

export class OciLayout {
  readonly index: { schemaVersion: 2; mediaType: string; manifests: object[] } = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [],
  };

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  writeBlob(bytes: Uint8Array, mediaType: string): Blob {
    const digest = sha(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { digest, size: bytes.length, mediaType };
  }

  /** An image of `layerSizes` random layers; returns the manifest's descriptor. */
  addImage(layerSizes: number[], platform = { architecture: 'amd64', os: 'linux' }): Blob {
    const layers = layerSizes.map((n, i) => this.writeBlob(tarOf(`file-${i}`, randomBytes(n)), 'application/vnd.oci.image.layer.v1.tar'));
    const config = this.writeBlob(
      Buffer.from(JSON.stringify({ ...platform, config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })),
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers,
    };
    return this.writeBlob(Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
  }

  /** Names `desc` in index.json under `tag`. */
  tag(desc: Blob, tag: string, platform?: object): void {
    this.index.manifests.push({ ...desc, ...(platform ? { platform } : {}), annotations: { 'org.opencontainers.image.ref.name': tag } });
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(this.index));
  }

  /** An image index over images for each platform. */
  addIndex(platforms: { architecture: string; os: string }[], layerSize: number): Blob {
    const manifests = platforms.map((p) => ({ ...this.addImage([layerSize, layerSize / 2], p), platform: p }));
    return this.writeBlob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })), 'application/vnd.oci.image.index.v1+json');
  }
}
