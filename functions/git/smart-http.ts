// Git smart HTTP: GET …/info/refs, POST …/git-upload-pack and …/git-receive-pack for
// /<account>/<app>.git. Errors a git client must show come back as 200 with an ERR pkt-line or on
// the sideband: git prints those; it prints only "HTTP 4xx" for anything else.
import { Hono, type Context } from 'hono';
import { findAccountByToken } from '../../db/queries/accounts';
import { findAppByPath, listGitRefs } from '../../db/queries/git';
import { listActingAccountIds } from '../../db/queries/memberships';
import type { Account, App } from '../../db/schema';
import { readCredentials } from '../auth';
import type { AppEnv } from '../platform';
import { advertiseV0, advertiseV2, serviceHeader, type GitService } from './advertisement';
import { BodyTooLargeError, readGitRequestBody } from './request-body';
import { concatBytes, encodePktLine } from './pkt-line';
import { handleUploadPackV0, handleUploadPackV2 } from './upload-pack';
import { peelTags } from './peel-tags';
import { respondToPush } from './push-response';

/** Largest push Berth accepts; a Worker holds the pack in memory while it reads it. */
export const DEFAULT_MAX_PACK_BYTES = 100 * 1024 * 1024;

export interface GitHttpOptions {
  maxPackBytes?: number;
  /** Labels a runner must carry to take this deployment's git builds. */
  jobLabels?: Record<string, string>;
}

const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text + '\n', { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });
}

function gitError(service: GitService, kind: 'advertisement' | 'result', message: string, withHeader: boolean): Response {
  const body = concatBytes([...(withHeader ? [serviceHeader(service)] : []), encodePktLine(`ERR ${message}\n`)]);
  return new Response(body, { status: 200, headers: { 'content-type': `application/x-${service}-${kind}`, 'cache-control': 'no-cache' } });
}

type Access = { app: App & { owner: string }; account: Account } | Response;

async function authorize(c: Context<AppEnv>, service: GitService, kind: 'advertisement' | 'result'): Promise<Access> {
  const challenge = { 'www-authenticate': 'Basic realm="Berth"' };
  const creds = readCredentials(c.req.header('authorization'));
  if (!creds) return plain(401, 'Authentication required: use your account name and an API token', challenge);
  const found = await findAccountByToken(c.var.platform.db, creds.secret);
  if (!found || (creds.user !== undefined && creds.user !== found.account.name)) {
    return plain(401, 'Authentication failed: the token is unknown, revoked or expired, or not this account\'s', challenge);
  }
  const scopes = found.token.scopes;
  const needs = service === 'git-receive-pack' ? 'write' : 'read';
  if (!(scopes.includes('admin') || scopes.includes(needs) || (needs === 'read' && scopes.includes('write')))) {
    return gitError(service, kind, `Permission denied: this token lacks the '${needs}' scope`, kind === 'advertisement');
  }
  const accountName = c.req.param('account')!;
  const appName = c.req.param('repo')!.replace(/\.git$/, '');
  // The caller's own apps and those of organizations it belongs to; any other app does not exist.
  const app = await findAppByPath(c.var.platform.db, accountName, appName);
  const mayAct = app ? (await listActingAccountIds(c.var.platform.db, found.account)).includes(app.accountId) : false;
  if (!app || !mayAct) {
    return gitError(service, kind, `Repository '${accountName}/${appName}' not found: no app of yours has that name (create the app first)`, kind === 'advertisement');
  }
  return { app, account: found.account };
}

function wantsV2(c: Context<AppEnv>): boolean {
  return (c.req.header('git-protocol') ?? '').split(':').includes('version=2');
}

export function createGitRoutes(options: GitHttpOptions = {}): Hono<AppEnv> {
  const maxPackBytes = options.maxPackBytes ?? DEFAULT_MAX_PACK_BYTES;
  const git = new Hono<AppEnv>();
  const repo = '/:account/:repo{[^/]+\\.git}';

  git.get(`${repo}/info/refs`, async (c) => {
    const service = c.req.query('service');
    if (!service || !SERVICES.has(service)) return plain(403, 'Berth serves only smart HTTP: ask with ?service=git-upload-pack or git-receive-pack');
    const access = await authorize(c, service as GitService, 'advertisement');
    if (access instanceof Response) return access;
    let body: Uint8Array<ArrayBuffer>;
    if (service === 'git-upload-pack' && wantsV2(c)) body = advertiseV2();
    else {
      const refs = await listGitRefs(c.var.platform.db, access.app.id);
      const peeled = service === 'git-upload-pack' ? await peelTags(c.var.platform, access.app.id, refs) : undefined;
      body = advertiseV0(service as GitService, refs, access.app.deployBranch, peeled);
    }
    return new Response(body, { headers: { 'content-type': `application/x-${service}-advertisement`, 'cache-control': 'no-cache' } });
  });

  git.post(`${repo}/git-upload-pack`, async (c) => {
    const access = await authorize(c, 'git-upload-pack', 'result');
    if (access instanceof Response) return access;
    let body: Uint8Array;
    try {
      body = await readGitRequestBody(c.req.raw, 8 * 1024 * 1024); // wants and haves only
    } catch (err) {
      if (err instanceof BodyTooLargeError) return gitError('git-upload-pack', 'result', `Cannot fetch: ${err.message}`, false);
      throw err;
    }
    let parts: Uint8Array[];
    try {
      parts = wantsV2(c) ? await handleUploadPackV2(c.var.platform, access.app, body) : await handleUploadPackV0(c.var.platform, access.app, body);
    } catch (err) {
      return gitError('git-upload-pack', 'result', (err as Error).message, false);
    }
    return new Response(concatBytes(parts), { headers: { 'content-type': 'application/x-git-upload-pack-result', 'cache-control': 'no-cache' } });
  });

  git.post(`${repo}/git-receive-pack`, async (c) => {
    const access = await authorize(c, 'git-receive-pack', 'result');
    if (access instanceof Response) return access;
    return respondToPush(c.var.platform, access.app, c.req.raw, { maxPackBytes, jobLabels: options.jobLabels });
  });

  return git;
}
