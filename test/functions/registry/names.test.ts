import { describe, expect, it } from 'vitest';
import type { RegistryError } from '../../../functions/registry/errors';
import { isValidRepositoryName, matchRegistryPath, parseReference } from '../../../functions/registry/names';

describe('registry paths', () => {
  it('routes names with slashes by the last keyword', () => {
    expect(matchRegistryPath('/v2/')).toEqual({ kind: 'base' });
    expect(matchRegistryPath('/v2')).toEqual({ kind: 'base' });
    expect(matchRegistryPath('/v2/_catalog')).toEqual({ kind: 'catalog' });
    expect(matchRegistryPath('/v2/admin/a/b/tags/list')).toEqual({ kind: 'tags', name: 'admin/a/b' });
    expect(matchRegistryPath('/v2/admin/a/b/manifests/latest')).toEqual({ kind: 'manifest', name: 'admin/a/b', reference: 'latest' });
    expect(matchRegistryPath('/v2/admin/x/blobs/uploads/')).toEqual({ kind: 'uploads', name: 'admin/x' });
    expect(matchRegistryPath('/v2/admin/x/blobs/uploads/abc')).toEqual({ kind: 'upload', name: 'admin/x', id: 'abc' });
    expect(matchRegistryPath('/v2/admin/x/blobs/sha256:00')).toEqual({ kind: 'blob', name: 'admin/x', digest: 'sha256:00' });
    expect(matchRegistryPath('/v2/admin/x/referrers/sha256:00')).toEqual({ kind: 'referrers', name: 'admin/x', digest: 'sha256:00' });
    expect(matchRegistryPath('/v2/admin/x/nothing')).toBeUndefined();
  });

  it('accepts <account>/<name> of spec components only', () => {
    for (const ok of ['admin/web', 'admin/a/b', 'a-b/c.d', 'x/y__z', 'x/y---z']) expect(isValidRepositoryName(ok), ok).toBe(true);
    for (const bad of ['web', 'Admin/web', 'admin/', '/web', 'admin//web', 'admin/-web', 'admin/web.', 'a/b_', `a/${'b'.repeat(300)}`]) {
      expect(isValidRepositoryName(bad), bad).toBe(false);
    }
  });

  it('parses tags and digests, refusing malformed ones with the spec codes', () => {
    expect(parseReference('v1.0')).toEqual({ kind: 'tag', tag: 'v1.0' });
    expect(parseReference(`sha256:${'a'.repeat(64)}`)).toEqual({ kind: 'digest', digest: `sha256:${'a'.repeat(64)}` });
    const code = (ref: string) => {
      try {
        parseReference(ref);
      } catch (err) {
        return (err as RegistryError).code;
      }
    };
    expect(code('sha256:zz')).toBe('DIGEST_INVALID');
    expect(code('md5:abc')).toBe('DIGEST_INVALID');
    expect(code('-tag')).toBe('MANIFEST_INVALID');
    expect(code('t'.repeat(129))).toBe('MANIFEST_INVALID');
  });
});
