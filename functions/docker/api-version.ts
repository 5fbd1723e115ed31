// The CLI prefixes paths with the API version it negotiated (/v1.47/containers/json); Berth serves
// one behaviour for every version it accepts, so the prefix is checked and removed before routing.
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** The path without its /v1.xx prefix, or an error message when the version is out of range. */
export function stripApiVersion(path: string): { path: string; error?: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)?$/.exec(path);
  if (!m) return { path };
  const version = m[1]!;
  const rest = m[2] ?? '/';
  if (compareVersions(version, MIN_API_VERSION) < 0) return { path: rest, error: `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version` };
  if (compareVersions(version, API_VERSION) > 0) return { path: rest, error: `client version ${version} is too new. Maximum supported API version is ${API_VERSION}` };
  return { path: rest };
}
