// Container calls beside the lifecycle: rename and prune. They change rows only (and ask the
// container's runner to free the files of what is pruned).
import { Hono } from 'hono';
import { enqueueContainerJob, markContainerRemoved } from '../../db/queries/containers';
import { listPrunableContainers, renameContainer } from '../../db/queries/docker-containers';
import type { AuthEnv } from '../auth';
import { parseContainerName } from './container-config';
import { requireContainer } from './container-ops';
import { specOf } from './container-view';
import { dockerError } from './engine-errors';
import { parsePruneFilters } from './prune-filters';

export const containerManage = new Hono<AuthEnv>();

containerManage.post('/containers/prune', async (c) => {
  const db = c.var.platform.db;
  const filter = parsePruneFilters(c.req.query('filters'));
  const deleted: string[] = [];
  for (const ctr of await listPrunableContainers(db, c.var.actingAccountIds)) {
    if (!filter.matches(ctr.createdAt, specOf(ctr).labels ?? {})) continue;
    if (ctr.runnerId) await enqueueContainerJob(db, ctr, 'remove', {});
    await markContainerRemoved(db, ctr.id);
    deleted.push(ctr.id);
  }
  return c.json({ ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 });
});

containerManage.post('/containers/:id/rename', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const raw = c.req.query('name');
  if (!raw) throw dockerError(400, 'Cannot rename: "name" is required');
  const name = parseContainerName(raw)!;
  if (ctr.appId) throw dockerError(409, `Cannot rename container "/${ctr.name}": it belongs to an app's deployment, which names its containers`);
  if (name === ctr.name) throw dockerError(409, `Renaming a container with the same name as its current name: "/${name}"`);
  if (!(await renameContainer(c.var.platform.db, ctr.id, name))) {
    throw dockerError(409, `Conflict. The container name "/${name}" is already in use. You have to remove (or rename) that container to be able to reuse that name.`);
  }
  return c.body(null, 204);
});
