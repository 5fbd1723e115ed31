// Images are the tags of the caller's repositories in Berth's registry. IDs are manifest digests.
// Tag and remove act on the registry's tag rows directly; pull and push are accepted for Berth's own
// images (they are already where a runner reads them) and refused for upstream ones.
import { Hono } from 'hono';
import { listContainersForDocker } from '../../db/queries/docker-containers';
import { listTaggedImages, type TaggedImage } from '../../db/queries/docker-images';
import { deleteTag, ensureRepository, findRepository, setTag } from '../../db/queries/registry';
import type { AuthEnv } from '../auth';
import { registryHost } from '../api/app-address';
import { dockerError } from './engine-errors';
import { readStoredImage, renderHistory } from './image-config';
import { matchesReference, parseImageFilters } from './image-filters';
import { imageSave } from './image-save';
import { parsePruneFilters } from './prune-filters';
import { familiarBerthName, toBerthName, type BerthImageName } from './image-names';

export function renderImageSummary(rows: TaggedImage[], accountName: string) {
  // One entry per image: several tags of one image are one row, as docker shows them.
  const byDigest = new Map<string, { row: TaggedImage; tags: string[] }>();
  for (const r of rows) {
    const e = byDigest.get(r.digest) ?? { row: r, tags: [] };
    e.tags.push(familiarBerthName(r.repository, r.tag, accountName));
    byDigest.set(r.digest, e);
  }
  return [...byDigest.values()].map(({ row, tags }) => ({
    Id: row.id,
    ParentId: '',
    RepoTags: tags,
    RepoDigests: [`${familiarBerthName(row.repository, 'x', accountName).slice(0, -2)}@${row.digest}`],
    Created: Math.floor(row.createdAt.getTime() / 1000),
    Size: row.size ?? 0,
    SharedSize: -1,
    VirtualSize: row.size ?? 0,
    Labels: {},
    Containers: -1,
  }));
}

/** The caller's image a name or ID (full or a prefix of 12+ hex) refers to. */
async function findImage(c: { var: AuthEnv['Variables'] }, nameOrId: string): Promise<{ name?: BerthImageName; row: TaggedImage }> {
  const { account, actingAccountIds, platform } = c.var;
  const hex = nameOrId.replace(/^sha256:/, '');
  if (/^[0-9a-f]{12,64}$/.test(hex)) {
    const row = (await listTaggedImages(platform.db, actingAccountIds)).find((r) => r.id.slice(7).startsWith(hex) || r.digest.slice(7).startsWith(hex));
    if (row) return { row };
  }
  let name: BerthImageName | undefined;
  try {
    name = toBerthName(nameOrId, account.name, registryHost(platform));
  } catch {
    name = undefined;
  }
  const row = name && (await listTaggedImages(platform.db, actingAccountIds, name.repository)).find((r) => r.tag === name.tag);
  if (!row) throw dockerError(404, `No such image: ${nameOrId}`);
  return { name, row };
}

export const imagesEngine = new Hono<AuthEnv>();
imagesEngine.route('/', imageSave);

imagesEngine.get('/json', async (c) => {
  const f = parseImageFilters(c.req.query('filters'));
  const rows = await listTaggedImages(c.var.platform.db, c.var.actingAccountIds);
  if (f.dangling === true) return c.json([]);
  const name = c.var.account.name;
  const createdOf = async (ref: string) => (await findImage(c, ref)).row.createdAt.getTime();
  const before = f.before.length ? Math.min(...(await Promise.all(f.before.map(createdOf)))) : Infinity;
  const since = f.since.length ? Math.max(...(await Promise.all(f.since.map(createdOf)))) : -Infinity;
  const kept = rows.filter((r) => r.createdAt.getTime() < before && r.createdAt.getTime() > since && f.reference.every((p) => matchesReference(p, familiarBerthName(r.repository, r.tag, name))));
  let out = renderImageSummary(kept, name);
  if (f.label.length > 0) {
    const labelled = await Promise.all(out.map(async (img) => ((await readStoredImage(c.var.platform, kept.find((r) => r.id === img.Id)!.digest).catch(() => undefined))?.config.config?.Labels ?? {})));
    out = out.filter((_, i) => f.label.every((l) => (l.includes('=') ? labelled[i]![l.slice(0, l.indexOf('='))] === l.slice(l.indexOf('=') + 1) : l in labelled[i]!)));
  }
  return c.json(out);
});

imagesEngine.get('/:name{.+}/json', async (c) => {
  const { row } = await findImage(c, c.req.param('name'));
  const all = await listTaggedImages(c.var.platform.db, c.var.actingAccountIds, row.repository);
  const summary = renderImageSummary(all.filter((r) => r.digest === row.digest), c.var.account.name)[0]!;
  const { config } = await readStoredImage(c.var.platform, row.digest);
  const cc = config.config ?? {};
  return c.json({
    Id: row.id,
    RepoTags: summary.RepoTags,
    RepoDigests: summary.RepoDigests,
    Parent: '',
    Comment: config.history?.at(-1)?.comment ?? '',
    Created: config.created ?? row.createdAt.toISOString(),
    DockerVersion: '',
    Author: config.author ?? '',
    Config: {
      Hostname: '',
      Domainname: '',
      User: cc.User ?? '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: cc.ExposedPorts ?? null,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: cc.Env ?? [],
      Cmd: cc.Cmd ?? null,
      Healthcheck: cc.Healthcheck,
      ArgsEscaped: cc.ArgsEscaped,
      Image: '',
      Volumes: cc.Volumes ?? null,
      WorkingDir: cc.WorkingDir ?? '',
      Entrypoint: cc.Entrypoint ?? null,
      OnBuild: cc.OnBuild ?? null,
      Labels: cc.Labels ?? null,
      StopSignal: cc.StopSignal,
      Shell: cc.Shell,
    },
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: row.size ?? 0,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: config.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: row.createdAt.toISOString() },
  });
});

imagesEngine.get('/:name{.+}/history', async (c) => {
  const { row } = await findImage(c, c.req.param('name'));
  const all = await listTaggedImages(c.var.platform.db, c.var.actingAccountIds, row.repository);
  const tags = renderImageSummary(all.filter((r) => r.digest === row.digest), c.var.account.name)[0]?.RepoTags ?? [];
  return c.json(renderHistory(await readStoredImage(c.var.platform, row.digest), row.id, tags));
});

imagesEngine.post('/:name{.+}/tag', async (c) => {
  const { row } = await findImage(c, c.req.param('name'));
  const repo = c.req.query('repo');
  if (!repo) throw dockerError(400, 'Cannot tag: "repo" is required');
  const target = toBerthName(`${repo}${c.req.query('tag') ? `:${c.req.query('tag')}` : ''}`, c.var.account.name, registryHost(c.var.platform));
  if (!target) throw dockerError(400, `Cannot tag as "${repo}": Berth tags into your own repositories; use a plain name such as "web"`);
  const existing = await findRepository(c.var.platform.db, target.repository);
  if (existing && !c.var.actingAccountIds.includes(existing.accountId)) throw dockerError(403, `Cannot tag as "${repo}": the repository belongs to another account`);
  const repository = existing ?? (await ensureRepository(c.var.platform.db, c.var.account.id, target.repository));
  await setTag(c.var.platform.db, repository.id, target.tag, row.digest);
  return c.body(null, 201);
});

imagesEngine.delete('/:name{.+}', async (c) => {
  const nameOrId = c.req.param('name');
  const { name, row } = await findImage(c, nameOrId);
  const all = await listTaggedImages(c.var.platform.db, c.var.actingAccountIds);
  // By ID: every tag of that image goes (docker refuses without force when there are several).
  const targets = name ? [row] : all.filter((r) => r.digest === row.digest);
  if (!name && targets.length > 1 && !['1', 'true'].includes(c.req.query('force') ?? '')) {
    throw dockerError(409, `conflict: unable to delete ${row.digest.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
  }
  const out: Array<Record<string, string>> = [];
  for (const t of targets) {
    await deleteTag(c.var.platform.db, t.repositoryId, t.tag);
    out.push({ Untagged: familiarBerthName(t.repository, t.tag, c.var.account.name) });
  }
  if (!all.some((r) => r.digest === row.digest && !targets.includes(r))) out.push({ Deleted: row.id });
  return c.json(out);
});

/** Pull: Berth's own images are already in its registry; upstream ones are fetched by the runner at run time. */
imagesEngine.post('/create', async (c) => {
  const from = c.req.query('fromImage');
  if (!from) throw dockerError(400, 'Cannot pull: "fromImage" is required (importing with fromSrc is not supported by Berth)');
  const ref = `${from}${c.req.query('tag') ? `:${c.req.query('tag')}` : ''}`;
  let name = toBerthName(ref, c.var.account.name, registryHost(c.var.platform));
  // A bare name (`alpine`) is the caller's repository when it has one, else the upstream image; a
  // name given with Berth's host or the account's namespace must exist here.
  const explicit = ref.startsWith(`${registryHost(c.var.platform)}/`) || ref.startsWith(`${c.var.account.name}/`);
  if (name) {
    try {
      await findImage(c, ref);
    } catch (e) {
      if (explicit) throw e;
      name = undefined;
    }
  }
  const lines = [{ status: `Pulling from ${from}`, id: c.req.query('tag') ?? 'latest' }, { status: name ? `Status: Image is up to date for ${ref}` : `Status: ${ref} is fetched by the runner when a container starts` }];
  return c.body(lines.map((l) => JSON.stringify(l)).join('\r\n') + '\r\n', 200, { 'Content-Type': 'application/json' });
});

imagesEngine.post('/:name{.+}/push', async (c) => {
  const { row } = await findImage(c, c.req.param('name'));
  const lines = [{ status: `The push refers to repository [${registryHost(c.var.platform)}/${row.repository}]` }, { status: `${row.tag}: digest: ${row.digest} size: ${row.size ?? 0}` }, { aux: { Tag: row.tag, Digest: row.digest, Size: row.size ?? 0 } }];
  return c.body(lines.map((l) => JSON.stringify(l)).join('\r\n') + '\r\n', 200, { 'Content-Type': 'application/json' });
});

/**
 * Berth keeps no untagged images in view (an untagged manifest is the registry's garbage collector's),
 * so the default prune (dangling only) finds nothing; `-a` removes the tags of every image no
 * container of the caller uses, as Docker removes every unused image.
 */
imagesEngine.post('/prune', async (c) => {
  const db = c.var.platform.db;
  const filter = parsePruneFilters(c.req.query('filters'), ['dangling']);
  const dangling = filter.extra.dangling ?? ['true'];
  if (dangling.length !== 1 || !['true', 'false', '1', '0'].includes(dangling[0]!)) throw dockerError(400, `Invalid filter "dangling=${dangling.join(',')}": expected true or false`);
  const out: Array<Record<string, string>> = [];
  let reclaimed = 0;
  if (['false', '0'].includes(dangling[0]!)) {
    const host = registryHost(c.var.platform);
    const used = new Set<string>();
    for (const ctr of await listContainersForDocker(db, c.var.actingAccountIds, { all: true, limit: 1000 })) {
      used.add(ctr.imageRef);
      if (ctr.manifestDigest) used.add(ctr.manifestDigest);
    }
    const rows = await listTaggedImages(db, c.var.actingAccountIds);
    const byDigest = new Map<string, TaggedImage[]>();
    for (const r of rows) byDigest.set(r.digest, [...(byDigest.get(r.digest) ?? []), r]);
    for (const [digest, group] of byDigest) {
      const first = group[0]!;
      if (used.has(digest) || group.some((r) => used.has(`${host}/${r.repository}:${r.tag}`))) continue;
      const labels = (await readStoredImage(c.var.platform, digest).catch(() => undefined))?.config.config?.Labels ?? {};
      if (!filter.matches(first.createdAt, labels)) continue;
      for (const t of group) {
        await deleteTag(db, t.repositoryId, t.tag);
        out.push({ Untagged: familiarBerthName(t.repository, t.tag, c.var.account.name) });
      }
      out.push({ Deleted: first.id });
      reclaimed += first.size ?? 0;
    }
  }
  return c.json({ ImagesDeleted: out.length ? out : null, SpaceReclaimed: reclaimed });
});
