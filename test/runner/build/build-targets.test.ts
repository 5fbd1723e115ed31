import { describe, expect, it } from 'vitest';
import { buildTargets } from '../../../runner/build/build-job';
import { ownRegistryHosts } from '../../../runner/build/builder';
import { berthRepositoryFor } from '../../../runner/image/base-images';
import { bootstrapTargetFor } from '../../../runner/image/debootstrap-image';
import { parseReference } from '../../../functions/core/oci/reference';

describe('buildTargets', () => {
  const own = ['127.0.0.1:8080'];
  it('maps tags to one repository of the account, with or without Berth\'s host', () => {
    expect(buildTargets(['admin/web:latest', '127.0.0.1:8080/admin/web:v1'], 'admin', own)).toEqual({ repository: 'admin/web', tags: ['latest', 'v1'], imageRef: 'admin/web:latest' });
    expect(buildTargets(['admin/web'], 'admin', own).tags).toEqual(['latest']);
    expect(buildTargets([], 'admin', own)).toEqual({ repository: 'admin/builds', tags: [], imageRef: null });
  });
  it('refuses another account\'s namespace and mixed repositories', () => {
    expect(() => buildTargets(['bob/web:latest'], 'admin', own)).toThrow(/start with "admin\/"/);
    expect(() => buildTargets(['admin/a', 'admin/b'], 'admin', own)).toThrow(/same repository/);
    expect(() => buildTargets(['Admin/Web'], 'admin', own)).toThrow(/Invalid image reference/);
  });
});

describe('base image names', () => {
  it('maps references to Berth repositories', () => {
    expect(berthRepositoryFor(parseReference('debian:bookworm'), [])).toBe('library/debian');
    expect(berthRepositoryFor(parseReference('127.0.0.1:8080/admin/web'), ['127.0.0.1:8080'])).toBe('admin/web');
    expect(berthRepositoryFor(parseReference('ghcr.io/a/b:1'), [])).toBe('ghcr.io/a/b');
  });
  it('knows which tags debootstrap can make', () => {
    expect(bootstrapTargetFor('docker.io', 'library/debian', 'bookworm-slim')).toEqual({ distro: 'debian', suite: 'bookworm' });
    expect(bootstrapTargetFor('docker.io', 'library/debian', '12')).toEqual({ distro: 'debian', suite: 'bookworm' });
    expect(bootstrapTargetFor('docker.io', 'library/debian', undefined)).toEqual({ distro: 'debian', suite: 'bookworm' });
    expect(bootstrapTargetFor('docker.io', 'library/ubuntu', '24.04')).toEqual({ distro: 'ubuntu', suite: 'noble' });
    expect(bootstrapTargetFor('docker.io', 'library/alpine', 'latest')).toBeUndefined();
    expect(bootstrapTargetFor('quay.io', 'library/debian', 'bookworm')).toBeUndefined();
  });
  it('knows Berth\'s own hosts from its settings', () => {
    expect(ownRegistryHosts({ BERTH_PUBLIC_URL: 'https://berth.example.com', BERTH_PORT: '9090' })).toEqual(['berth.example.com', '127.0.0.1:9090', 'localhost:9090']);
  });
});
