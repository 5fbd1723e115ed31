// Image references as users type them, normalised the way Docker does before they are stored:
// `debian` → `docker.io/library/debian:latest`. The first segment is a registry only when it is
// `localhost` or holds a `.` or `:`. A digest pins; a tag defaults to latest only without one.
import { badRequest } from '../core/errors';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

export function tryNormaliseImageReference(input: string): string | undefined {
  if (input.length === 0 || input.length > 512) return undefined;
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  const segments = rest.split('/');
  let registry = 'docker.io';
  if (segments.length > 1 && (segments[0] === 'localhost' || segments[0]!.includes('.') || segments[0]!.includes(':'))) {
    registry = segments.shift()!;
    if (!HOST.test(registry)) return undefined;
  }
  if (segments.length === 0 || !segments.every((s) => COMPONENT.test(s))) return undefined;
  if (registry === 'docker.io' && segments.length === 1) segments.unshift('library');
  const name = `${registry}/${segments.join('/')}`;
  if (digest) return tag ? `${name}:${tag}@${digest}` : `${name}@${digest}`;
  return `${name}:${tag ?? 'latest'}`;
}

export function normaliseImageReference(input: string): string {
  const ref = tryNormaliseImageReference(input);
  if (!ref) throw badRequest(`Invalid image reference "${input}": expected [registry/]name[:tag][@sha256:digest], e.g. debian:bookworm`, 'invalid_image_reference');
  return ref;
}
