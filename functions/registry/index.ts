// The OCI Distribution API at /v2. Repository names hold slashes, so one handler splits the path
// itself (names.ts) and dispatches on route and method. Errors use the spec's body.
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../platform';
import { readBlob } from './blobs';
import { createRegistryContext, requestOrigin, type RegistryContext } from './context';
import { registryError, renderRegistryError } from './errors';
import { resolveCaller, unauthenticated } from './auth';
import { catalog, referrers, tagList } from './listings';
import { readManifest, removeManifest, writeManifest } from './manifests';
import { matchRegistryPath, type RegistryRoute } from './names';
import { collectGarbage } from './gc';
import { issueToken } from './token-endpoint';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads';

function unsupported(method: string, path: string) {
  return registryError(405, 'UNSUPPORTED', `Method ${method} is not supported on ${path.slice(0, 200)}`);
}

async function dispatch(rc: RegistryContext, route: RegistryRoute, method: string): Promise<Response> {
  const head = method === 'HEAD';
  switch (route.kind) {
    case 'base':
      if (rc.caller.kind === 'anonymous') throw unauthenticated(rc.origin, 'Authentication required: log in with your account name and a Berth token');
      return rc.c.json({});
    case 'catalog':
      return catalog(rc);
    case 'tags':
      return tagList(rc, route.name);
    case 'referrers':
      return referrers(rc, route.name, route.digest);
    case 'manifest':
      if (method === 'GET' || head) return readManifest(rc, route.name, route.reference, head);
      if (method === 'PUT') return writeManifest(rc, route.name, route.reference);
      if (method === 'DELETE') return removeManifest(rc, route.name, route.reference);
      break;
    case 'blob':
      if (method === 'GET' || head) return readBlob(rc, route.name, route.digest, head);
      if (method === 'DELETE') throw registryError(405, 'UNSUPPORTED', 'Blob delete is not supported: delete manifests; unreferenced blobs are garbage collected');
      break;
    case 'uploads':
      if (method === 'POST') return startUpload(rc, route.name);
      break;
    case 'upload':
      if (method === 'PATCH') return patchUpload(rc, route.name, route.id);
      if (method === 'PUT') return finishUpload(rc, route.name, route.id);
      if (method === 'GET') return uploadStatus(rc, route.name, route.id);
      if (method === 'DELETE') return cancelUpload(rc, route.name, route.id);
      break;
    case 'gc':
      if (method === 'POST') return runGc(rc);
      break;
    case 'token':
      if (method === 'GET' || method === 'POST') return issueToken(rc);
      break;
  }
  throw unsupported(method, rc.c.req.path);
}

/** POST /v2/_berth/gc?grace=<seconds>: an administrator runs the collector now. */
async function runGc(rc: RegistryContext): Promise<Response> {
  if (rc.caller.kind !== 'account' || !rc.caller.account.isAdmin || !rc.caller.scopes.includes('admin')) {
    throw registryError(403, 'DENIED', 'Permission denied: garbage collection needs an administrator token with the admin scope');
  }
  const grace = rc.c.req.query('grace');
  if (grace !== undefined && !/^\d{1,9}$/.test(grace)) throw registryError(400, 'UNSUPPORTED', `Invalid grace "${grace.slice(0, 20)}": expected seconds`);
  const report = await collectGarbage(rc.platform, grace !== undefined ? { graceMs: Number(grace) * 1000 } : {});
  return rc.c.json({ uploadsAbandoned: report.uploadsAbandoned, linksDropped: report.linksDropped, blobsSwept: report.blobsSwept.length });
}

async function handle(c: Context<AppEnv>): Promise<Response> {
  let res: Response;
  try {
    const route = matchRegistryPath(c.req.path);
    if (!route) throw registryError(404, 'NAME_INVALID', `No registry route for ${c.req.method} ${c.req.path.slice(0, 200)}`);
    // The token endpoint judges credentials itself (wrong ones must fail there, not be ignored).
    const caller = route.kind === 'token' ? { kind: 'anonymous' as const } : await resolveCaller(c.var.platform, c.req.header('authorization'), requestOrigin(c));
    res = await dispatch(createRegistryContext(c, caller), route, c.req.method);
  } catch (err) {
    const { status, body, headers } = renderRegistryError(err);
    if (status >= 500) console.error(`registry ${c.req.method} ${c.req.path}:`, err);
    const json = c.req.method === 'HEAD' ? null : JSON.stringify(body);
    res = new Response(json, { status, headers: { ...headers, 'Content-Type': 'application/json' } });
  }
  res.headers.set('Docker-Distribution-API-Version', 'registry/2.0');
  return res;
}

export const registry = new Hono<AppEnv>();
registry.all('/', handle);
registry.all('/*', handle);
