import { describe, expect, it } from 'vitest';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  ReferenceError,
  tryParseReference,
} from '../../../../functions/core/oci/reference';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

describe('parseReference', () => {
  it.each([
    ['debian', 'docker.io/library/debian:latest'],
    ['debian:bookworm', 'docker.io/library/debian:bookworm'],
    ['library/debian', 'docker.io/library/debian:latest'],
    ['docker.io/debian', 'docker.io/library/debian:latest'],
    ['index.docker.io/library/debian:12', 'docker.io/library/debian:12'],
    ['registry-1.docker.io/bitnami/redis', 'docker.io/bitnami/redis:latest'],
    ['bitnami/redis:7.2', 'docker.io/bitnami/redis:7.2'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['localhost:5000/app:dev', 'localhost:5000/app:dev'],
    ['localhost:5000/team/app', 'localhost:5000/team/app:latest'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['[::1]:5000/app:v1', '[::1]:5000/app:v1'],
    ['ghcr.io/owner/repo/sub:v1.2.3', 'ghcr.io/owner/repo/sub:v1.2.3'],
    ['quay.io/a_b/c__d/e---f.g', 'quay.io/a_b/c__d/e---f.g:latest'],
    ['My.Registry.io/app', 'My.Registry.io/app:latest'],
    [`debian@${DIGEST}`, `docker.io/library/debian@${DIGEST}`],
    [`debian:12@${DIGEST}`, `docker.io/library/debian:12@${DIGEST}`],
    [`localhost:5000/app@${DIGEST}`, `localhost:5000/app@${DIGEST}`],
  ])('normalises %s', (input, canonical) => {
    expect(formatReference(parseReference(input))).toBe(canonical);
  });

  it('splits the parts', () => {
    expect(parseReference(`localhost:5000/team/app:1@${DIGEST}`)).toEqual({
      registry: 'localhost:5000',
      repository: 'team/app',
      tag: '1',
      digest: DIGEST,
    });
    // A digest pins the image: no default tag is invented.
    expect(parseReference(`debian@${DIGEST}`).tag).toBeUndefined();
  });

  it('treats a first segment without dot, colon or localhost as a Docker Hub namespace', () => {
    expect(parseReference('myhost/app')).toEqual({ registry: 'docker.io', repository: 'myhost/app', tag: 'latest' });
  });

  it.each([
    ['', /empty/],
    ['Debian', /repository name "library\/Debian" must be lowercase/],
    ['MyOrg/app', /must be lowercase/],
    ['ghcr.io/Owner/app', /must be lowercase/],
    ['debian:', /tag ""/],
    ['debian:-x', /tag "-x"/],
    [`debian:${'t'.repeat(129)}`, /tag/],
    ['debian@sha256:abc', /digest "sha256:abc"/],
    ['a//b', /path component ""/],
    ['a/-b', /path component "-b"/],
    ['a/b_', /path component "b_"/],
    ['a/b___c', /path component "b___c"/],
    ['localhost:port/app', /port "port"/],
    ['bad_host.io/app', /registry "bad_host.io"/],
    [':tag', /empty/],
    [' debian', /whitespace/],
    [HEX, /image ID/],
    [`r.io/${'a'.repeat(260)}`, /longer than 255/],
  ])('refuses %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(ReferenceError);
    expect(() => parseReference(input)).toThrow(message);
    expect(tryParseReference(input)).toBeUndefined();
  });

  it('quotes the input in its message', () => {
    expect(() => parseReference('Ubuntu:22.04')).toThrow('Invalid image reference "Ubuntu:22.04": repository name "library/Ubuntu" must be lowercase');
  });
});

describe('familiarName', () => {
  it.each([
    ['debian', 'debian', 'debian:latest'],
    ['docker.io/library/debian:12', 'debian', 'debian:12'],
    ['bitnami/redis', 'bitnami/redis', 'bitnami/redis:latest'],
    ['library/a/b', 'library/a/b', 'library/a/b:latest'],
    ['localhost:5000/app:dev', 'localhost:5000/app', 'localhost:5000/app:dev'],
    [`ghcr.io/o/r@${DIGEST}`, 'ghcr.io/o/r', `ghcr.io/o/r@${DIGEST}`],
  ])('shortens %s', (input, name, full) => {
    const ref = parseReference(input);
    expect(familiarName(ref)).toBe(name);
    expect(familiarString(ref)).toBe(full);
  });

  it('round-trips: the familiar string parses to the same reference', () => {
    for (const s of ['debian:12', 'bitnami/redis:7', 'localhost:5000/a/b:c', `quay.io/x/y@${DIGEST}`]) {
      const ref = parseReference(s);
      expect(parseReference(familiarString(ref))).toEqual(ref);
      expect(parseReference(formatReference(ref))).toEqual(ref);
    }
  });
});
