// GET /networks and /networks/{id} (`docker network ls`, `docker network inspect bridge`): Berth
// runs every container on one bridge of its runner, so there is one network, "bridge", listing the
// caller's running containers. Creating or connecting networks is not served (404 naming it).
import { Hono } from 'hono';
import { listContainersForDocker } from '../../db/queries/docker-containers';
import type { Container } from '../../db/schema';
import type { AuthEnv } from '../auth';
import { dockerError } from './engine-errors';
import { parseFiltersParam } from './filters-param';

/** A fixed id: Docker's bridge has one, and scripts address it by id as well as by name. */
export const BRIDGE_ID = '5c1b8f4e0f2d6a3c9e7b1a4d8f6e2c0b3a9d7e5f1c4b8a2d6e0f3c7b9a1d5e8f';

function renderBridge(containers: Container[]) {
  return {
    Name: 'bridge',
    Id: BRIDGE_ID,
    Created: '0001-01-01T00:00:00Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(containers.filter((c) => c.ipAddress).map((c) => [c.id, { Name: c.name, EndpointID: '', MacAddress: '', IPv4Address: `${c.ipAddress}/16`, IPv6Address: '' }])),
    Options: {},
    Labels: {},
  };
}

function parseNetworkFilters(raw: string | undefined): Record<string, string[]> {
  return parseFiltersParam(raw, ['name', 'id', 'driver', 'scope', 'type'], 'Berth filters networks');
}

export const networks = new Hono<AuthEnv>();

networks.get('/networks', async (c) => {
  const f = parseNetworkFilters(c.req.query('filters'));
  const match = (k: string, test: (p: string) => boolean) => (f[k] ?? []).length === 0 || f[k]!.some(test);
  const keep =
    match('name', (p) => 'bridge'.includes(p)) &&
    match('id', (p) => BRIDGE_ID.startsWith(p)) &&
    match('driver', (p) => p === 'bridge') &&
    match('scope', (p) => p === 'local') &&
    match('type', (p) => p === 'builtin');
  if (!keep) return c.json([]);
  return c.json([renderBridge(await listContainersForDocker(c.var.platform.db, c.var.actingAccountIds, { all: false, limit: 1000 }))]);
});

networks.get('/networks/:id', async (c) => {
  const id = c.req.param('id');
  if (id !== 'bridge' && !(id.length >= 3 && BRIDGE_ID.startsWith(id))) throw dockerError(404, `network ${id} not found`);
  return c.json(renderBridge(await listContainersForDocker(c.var.platform.db, c.var.actingAccountIds, { all: false, limit: 1000 })));
});
