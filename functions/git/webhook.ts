// Push webhooks from GitHub and GitLab: POST /api/v1/apps/{app}/webhooks/git builds the deploy
// branch's new commit, fetched by a runner from the repository's http(s) clone URL. The forge proves
// itself with the shared secret (GitHub: X-Hub-Signature-256 HMAC of the body; GitLab:
// X-Gitlab-Token); PUT on the same path, with an API token, sets that secret.
import { Hono } from 'hono';
import { findAppByPath } from '../../db/queries/git';
import { createGitBuild } from '../../db/queries/git-builds';
import { findGitWebhook, setGitWebhook } from '../../db/queries/git-webhooks';
import { requireAuth, type AuthEnv } from '../auth';
import { badRequest, notFound, unauthorized } from '../core/errors';
import { toHex } from '../core/hash';
import type { AppEnv } from '../platform';
import { gitBuildTags } from './build-tags';
import { isObjectId, ZERO_ID } from './object-id';

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function hmacSha256Hex(secret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return toHex(await crypto.subtle.sign('HMAC', key, body as Uint8Array<ArrayBuffer>));
}

export function parseCloneUrl(value: unknown): string {
  if (typeof value !== 'string') throw badRequest('Cannot use the clone URL: it is missing');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(`Cannot use clone URL "${value}": it is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badRequest(`Cannot use clone URL "${value}": only http and https are fetched`);
  return url.toString();
}

interface PushEvent {
  ref?: unknown;
  after?: unknown;
  checkout_sha?: unknown;
  repository?: { clone_url?: unknown; git_http_url?: unknown };
  project?: { git_http_url?: unknown };
}

export function createGitWebhook(o: { jobLabels?: Record<string, string> } = {}): Hono<AppEnv> {
  const gitWebhook = new Hono<AppEnv>();

gitWebhook.put('/:app/webhooks/git', requireAuth('write'), async (c) => {
  const account = (c as unknown as { var: AuthEnv['Variables'] }).var.account;
  const app = await findAppByPath(c.var.platform.db, account.name, c.req.param('app'));
  if (!app) throw notFound(`App "${c.req.param('app')}" not found`);
  const body = (await c.req.json().catch(() => undefined)) as { secret?: unknown; cloneUrl?: unknown } | undefined;
  if (!body || typeof body.secret !== 'string' || body.secret.length < 16) throw badRequest('Cannot set the webhook: "secret" must be a string of at least 16 characters');
  const cloneUrl = body.cloneUrl === undefined || body.cloneUrl === null ? null : parseCloneUrl(body.cloneUrl);
  const row = await setGitWebhook(c.var.platform.db, app.id, { secret: body.secret, cloneUrl });
  return c.json({ app: app.name, cloneUrl: row.cloneUrl, url: `${c.var.platform.publicUrl ?? ''}/api/v1/apps/${app.name}/webhooks/git` });
});

gitWebhook.post('/:app/webhooks/git', async (c) => {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  if (raw.length > 5 * 1024 * 1024) throw badRequest('Cannot read the webhook: the body is larger than 5 MiB');
  const found = await findGitWebhook(c.var.platform.db, c.req.param('app'));
  // Unknown apps and bad signatures look alike, so the endpoint does not reveal which apps exist.
  const refuse = () => unauthorized('Webhook refused: the signature or token does not match this app\'s webhook secret');
  if (!found) throw refuse();
  const { app, owner, webhook } = found;
  const signature = c.req.header('x-hub-signature-256');
  const token = c.req.header('x-gitlab-token');
  if (signature !== undefined) {
    if (!constantTimeEqual(signature, `sha256=${await hmacSha256Hex(webhook.secret, raw)}`)) throw refuse();
  } else if (token !== undefined) {
    if (!constantTimeEqual(token, webhook.secret)) throw refuse();
  } else {
    throw refuse();
  }
  const event = c.req.header('x-github-event') ?? c.req.header('x-gitlab-event');
  if (event === 'ping') return c.json({ ok: true, pong: true });
  if (event !== 'push' && event !== 'Push Hook') return c.json({ ignored: `event "${event ?? ''}" is not a push` }, 202);
  let payload: PushEvent;
  try {
    payload = JSON.parse(new TextDecoder().decode(raw)) as PushEvent;
  } catch {
    throw badRequest('Cannot read the webhook: the body is not JSON');
  }
  const ref = typeof payload.ref === 'string' ? payload.ref : '';
  const commit = typeof payload.checkout_sha === 'string' ? payload.checkout_sha : typeof payload.after === 'string' ? payload.after : '';
  if (ref !== `refs/heads/${app.deployBranch}`) return c.json({ ignored: `ref "${ref}" is not the deploy branch refs/heads/${app.deployBranch}` }, 202);
  if (commit === ZERO_ID) return c.json({ ignored: 'the deploy branch was deleted' }, 202);
  if (!isObjectId(commit)) throw badRequest(`Cannot build the push: "${commit}" is not a commit id`);
  const url = webhook.cloneUrl ?? parseCloneUrl(payload.repository?.clone_url ?? payload.repository?.git_http_url ?? payload.project?.git_http_url);
  const build = await createGitBuild(
    c.var.platform.db,
    {
      accountId: app.accountId,
      appId: app.id,
      source: 'git',
      gitCommit: commit,
      gitRef: ref,
      deployOnSuccess: true,
      dockerfilePath: app.dockerfilePath,
      tags: gitBuildTags(c.var.platform, owner, app.name, commit),
    },
    { fetch: { url, ref }, requiredLabels: o.jobLabels },
  );
  return c.json({ buildId: build.id, commit, ref }, 202);
});

  return gitWebhook;
}
