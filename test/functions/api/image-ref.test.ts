import { describe, expect, it } from 'vitest';
import { normaliseImageReference, tryNormaliseImageReference } from '../../../functions/api/image-ref';

describe('normaliseImageReference', () => {
  it.each([
    ['debian', 'docker.io/library/debian:latest'],
    ['debian:bookworm', 'docker.io/library/debian:bookworm'],
    ['alice/web', 'docker.io/alice/web:latest'],
    ['localhost/web', 'localhost/web:latest'],
    ['127.0.0.1:8080/alice/web:v1', '127.0.0.1:8080/alice/web:v1'],
    ['ghcr.io/o/r/x:1.2', 'ghcr.io/o/r/x:1.2'],
    [`nginx@sha256:${'a'.repeat(64)}`, `docker.io/library/nginx@sha256:${'a'.repeat(64)}`],
    [`nginx:1@sha256:${'a'.repeat(64)}`, `docker.io/library/nginx:1@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (input, expected) => {
    expect(normaliseImageReference(input)).toBe(expected);
  });

  it.each(['', 'Debian', 'a b', 'nginx@sha256:xyz', 'x:-bad', 'a//b', 'nginx:'])('refuses %j', (input) => {
    expect(tryNormaliseImageReference(input)).toBeUndefined();
  });

  it('names the reference in its error', () => {
    expect(() => normaliseImageReference('Not Valid')).toThrow(/^Invalid image reference "Not Valid"/);
  });
});
