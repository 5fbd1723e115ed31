import { describe, expect, it } from 'vitest';
import { renderHistory, type StoredImage } from '../../../functions/docker/image-config';

const layer = (size: number) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${String(size).padStart(64, '0')}`, size });

describe('renderHistory', () => {
  it('lists the records newest first, giving each layer-making one its layer\'s size', () => {
    const image: StoredImage = {
      configDigest: 'sha256:c',
      manifest: { schemaVersion: 2, config: layer(1), layers: [layer(100), layer(7)] },
      config: {
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: ['sha256:a', 'sha256:b'] },
        history: [
          { created: '2026-01-01T00:00:00Z', created_by: 'base' },
          { created: '2026-01-01T00:00:01Z', created_by: 'ENV A=1', empty_layer: true },
          { created: '2026-01-01T00:00:02Z', created_by: 'RUN make', comment: 'buildkit.dockerfile.v0' },
        ],
      },
    };
    expect(renderHistory(image, 'sha256:id', ['web:latest'])).toEqual([
      { Id: 'sha256:id', Created: 1767225602, CreatedBy: 'RUN make', Tags: ['web:latest'], Size: 7, Comment: 'buildkit.dockerfile.v0' },
      { Id: '<missing>', Created: 1767225601, CreatedBy: 'ENV A=1', Tags: null, Size: 0, Comment: '' },
      { Id: '<missing>', Created: 1767225600, CreatedBy: 'base', Tags: null, Size: 100, Comment: '' },
    ]);
  });

  it('makes one record per layer when the config has no history', () => {
    const image: StoredImage = { configDigest: 'sha256:c', manifest: { schemaVersion: 2, config: layer(1), layers: [layer(5)] }, config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:a'] } } };
    expect(renderHistory(image, 'sha256:id', [])).toEqual([{ Id: 'sha256:id', Created: 0, CreatedBy: '', Tags: null, Size: 5, Comment: '' }]);
  });
});
