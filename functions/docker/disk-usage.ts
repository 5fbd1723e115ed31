// GET /system/df (`docker system df`): the caller's images with how many containers use each, and
// its containers. Berth keeps no volumes or build cache a client could prune, so those lists are empty.
import { Hono } from 'hono';
import { listContainersForDocker } from '../../db/queries/docker-containers';
import { listTaggedImages } from '../../db/queries/docker-images';
import { registryHost } from '../api/app-address';
import type { AuthEnv } from '../auth';
import { renderSummary } from './container-view';
import { renderImageSummary } from './images';

export const diskUsage = new Hono<AuthEnv>();

diskUsage.get('/system/df', async (c) => {
  const { db } = c.var.platform;
  const host = registryHost(c.var.platform);
  const containers = await listContainersForDocker(db, c.var.actingAccountIds, { all: true, limit: 1000 });
  const rows = await listTaggedImages(db, c.var.actingAccountIds);
  const images = renderImageSummary(rows, c.var.account.name).map((img) => {
    const refs = new Set(rows.filter((r) => r.id === img.Id).flatMap((r) => [r.digest, `${host}/${r.repository}:${r.tag}`]));
    return { ...img, Containers: containers.filter((ctr) => refs.has(ctr.imageRef) || (ctr.manifestDigest !== null && refs.has(ctr.manifestDigest))).length };
  });
  return c.json({
    LayersSize: images.reduce((n, i) => n + i.Size, 0),
    Images: images,
    Containers: containers.map((ctr) => ({ ...renderSummary(ctr, ctr.imageRef), SizeRw: 0, SizeRootFs: 0 })),
    Volumes: [],
    BuildCache: [],
  });
});
