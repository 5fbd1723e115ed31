// Image references, normalised once the way Docker does it (distribution/reference and
// go-containerregistry's pkg/name are the rulebook): `debian` is `docker.io/library/debian:latest`.
import { type Digest, tryParseDigest } from './digest';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_REGISTRIES = new Set(['index.docker.io', 'registry-1.docker.io']);
const OFFICIAL_NAMESPACE = 'library';
/** distribution/reference caps the whole name (registry and path) at 255 characters. */
const NAME_MAX_LENGTH = 255;

/** A normalised reference: registry and repository are always set; a digest pins the image. */
export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

export class ReferenceError extends Error {
  override name = 'ReferenceError';
}

// A path component: lowercase alphanumerics joined by `.`, `_`, `__` or any run of `-`.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const HEX64 = /^[a-f0-9]{64}$/;

function fail(input: string, detail: string): never {
  throw new ReferenceError(`Invalid image reference "${input}": ${detail}`);
}

function checkRegistry(input: string, registry: string): void {
  const colon = registry.startsWith('[') ? registry.indexOf(':', registry.indexOf(']')) : registry.lastIndexOf(':');
  const host = colon === -1 ? registry : registry.slice(0, colon);
  const port = colon === -1 ? undefined : registry.slice(colon + 1);
  if (port !== undefined && !PORT.test(port)) fail(input, `registry port "${port}" is not a number`);
  if (IPV6.test(host)) return;
  if (host === '' || !host.split('.').every((label) => DOMAIN_LABEL.test(label))) {
    fail(input, `registry "${registry}" is not a valid host name`);
  }
}

/** Splits the part before `:tag`/`@digest` into registry and path, applying Docker's defaults. */
function splitName(input: string, name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  // The first segment names a registry only if it could not be a path component: it holds a dot
  // or a port colon, or is `localhost`. Everything else lives on Docker Hub.
  const isRegistry = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = isRegistry ? first : DEFAULT_REGISTRY;
  let repository = isRegistry ? name.slice(slash + 1) : name;
  if (LEGACY_REGISTRIES.has(registry)) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `${OFFICIAL_NAMESPACE}/${repository}`;
  return { registry, repository };
}

export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string' || input === '') fail(String(input), 'it is empty');
  if (input.trim() !== input) fail(input, 'it has leading or trailing whitespace');

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const raw = rest.slice(at + 1);
    digest = tryParseDigest(raw);
    if (!digest) fail(input, `digest "${raw}" is not sha256:<64 hex> or sha512:<128 hex>`);
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon after the last slash separates the tag; before it, it is a registry port.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(input, `tag "${tag}" must be 1 to 128 of [A-Za-z0-9_.-], not starting with "." or "-"`);
  }

  if (rest === '') fail(input, 'the repository name is empty');
  if (HEX64.test(rest)) fail(input, 'a 64-character hex string is an image ID, not a repository name');
  const { registry, repository } = splitName(input, rest);
  if (registry !== DEFAULT_REGISTRY) checkRegistry(input, registry);

  if (repository !== repository.toLowerCase()) fail(input, `repository name "${repository}" must be lowercase`);
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      fail(input, `path component "${component}" must be lowercase letters and digits separated by ".", "_", "__" or "-"`);
    }
  }
  if (registry.length + 1 + repository.length > NAME_MAX_LENGTH) {
    fail(input, `the name is longer than ${NAME_MAX_LENGTH} characters`);
  }

  if (!tag && !digest) tag = DEFAULT_TAG;
  const ref: ImageReference = { registry, repository };
  if (tag) ref.tag = tag;
  if (digest) ref.digest = digest;
  return ref;
}

export function tryParseReference(input: string): ImageReference | undefined {
  try {
    return parseReference(input);
  } catch (err) {
    if (err instanceof ReferenceError) return undefined;
    throw err;
  }
}

/** The repository name with its registry: `docker.io/library/debian`. */
export function formatName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical string: `docker.io/library/debian:latest`, `ghcr.io/a/b:v1@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return formatName(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The short name the docker CLI shows: `debian`, `bitnami/redis`, `ghcr.io/a/b`. */
export function familiarName(ref: ImageReference): string {
  if (ref.registry !== DEFAULT_REGISTRY) return formatName(ref);
  const prefix = `${OFFICIAL_NAMESPACE}/`;
  // `library/a/b` keeps its namespace: only single-component official names are shortened.
  const rest = ref.repository.slice(prefix.length);
  return ref.repository.startsWith(prefix) && !rest.includes('/') ? rest : ref.repository;
}

/** The familiar name with its tag and digest, as `docker images` and `docker ps` print it. */
export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}
