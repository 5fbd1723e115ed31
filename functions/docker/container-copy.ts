// `docker cp CTR:PATH …`: GET /containers/{id}/archive streams the path as a tar, HEAD only its stat
// (X-Docker-Container-Path-Stat, base64 JSON), both read on the container's runner
// (runner/container/container-archive.ts), which keeps every path inside the container's root.
// PUT unpacks a tar into a directory of the container there, refusing entries that would land
// outside it.
import { Hono, type Context } from 'hono';
import type { Container } from '../../db/schema';
import type { AuthEnv } from '../auth';
import { requireContainer } from './container-ops';
import { dockerError } from './engine-errors';

function readPath(c: Context<AuthEnv>): string {
  const path = c.req.query('path');
  if (!path) throw dockerError(400, 'Bad parameter: path cannot be empty');
  if (path.length > 4096 || path.includes('\0')) throw dockerError(400, `Bad parameter: path "${path.slice(0, 64)}" is not a path`);
  return path;
}

async function fetchArchive(c: Context<AuthEnv>, ctr: Container, path: string, statOnly: boolean) {
  const sessions = c.var.platform.runnerSessions;
  if (!sessions?.archive) throw dockerError(404, `${c.req.method} ${c.req.path} is not supported by this deployment of Berth's Docker Engine API: it cannot reach the runners`);
  if (!ctr.runnerId) throw dockerError(409, `Cannot copy from container ${ctr.id.slice(0, 12)}: it has not run yet, and Berth assembles its files when it starts`);
  try {
    return await sessions.archive({ containerId: ctr.id, path, statOnly });
  } catch (e) {
    const message = (e as Error).message;
    if (/^Could not find the file/.test(message)) throw dockerError(404, message);
    if (/has no files on this runner|Cannot reach the runner/.test(message)) throw dockerError(409, `Cannot copy from container ${ctr.id.slice(0, 12)}: its files are on runner ${ctr.runnerId}, which this engine cannot reach`);
    throw dockerError(502, `Cannot copy from container ${ctr.id.slice(0, 12)}: ${message}`);
  }
}

const statHeader = (stat: unknown) => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(stat))));

export const containerCopy = new Hono<AuthEnv>();

containerCopy.on('HEAD', '/containers/:id/archive', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const { stat } = await fetchArchive(c, ctr, readPath(c), true);
  return c.body(null, 200, { 'X-Docker-Container-Path-Stat': statHeader(stat) });
});

containerCopy.get('/containers/:id/archive', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const { stat, body } = await fetchArchive(c, ctr, readPath(c), false);
  return new Response(body ?? null, { status: 200, headers: { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': statHeader(stat) } });
});

containerCopy.put('/containers/:id/archive', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const path = readPath(c);
  if (!path.startsWith('/')) throw dockerError(400, `Bad parameter: path "${path}" must be absolute`);
  const sessions = c.var.platform.runnerSessions;
  if (!sessions?.extract) throw dockerError(404, `PUT ${c.req.path} is not supported by this deployment of Berth's Docker Engine API: it cannot reach the runners`);
  if (!ctr.runnerId) throw dockerError(409, `Cannot copy into container ${ctr.id.slice(0, 12)}: it has not run yet, and Berth assembles its files when it starts`);
  const on = (k: string) => ['1', 'true'].includes(c.req.query(k) ?? '');
  try {
    await sessions.extract({ containerId: ctr.id, path, copyUidGid: on('copyUIDGID'), noOverwriteDirNonDir: on('noOverwriteDirNonDir') }, c.req.raw.body);
  } catch (e) {
    const message = (e as Error).message;
    if (/^Could not find the file/.test(message)) throw dockerError(404, message);
    if (/^Cannot copy into the container: /.test(message)) throw dockerError(400, message.replace(/^Cannot copy into the container: /, `Cannot copy into container ${ctr.id.slice(0, 12)}: `));
    if (/has no files on this runner|Cannot reach the runner/.test(message)) throw dockerError(409, `Cannot copy into container ${ctr.id.slice(0, 12)}: its files are on runner ${ctr.runnerId}, which this engine cannot reach`);
    if (/Invalid tar header|Unexpected end of data|invalid/i.test(message)) throw dockerError(400, `Cannot copy into container ${ctr.id.slice(0, 12)}: the body is not a tar archive: ${message}`);
    throw dockerError(502, `Cannot copy into container ${ctr.id.slice(0, 12)}: ${message}`);
  }
  return c.body(null, 200);
});

/** `docker export`: the whole root filesystem, as `docker cp CTR:/ -` would give it. */
containerCopy.get('/containers/:id/export', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const { body } = await fetchArchive(c, ctr, '/', false);
  return new Response(body ?? null, { status: 200, headers: { 'Content-Type': 'application/x-tar' } });
});
