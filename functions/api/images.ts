// The caller's images in Berth's registry: repositories and their tags.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { findRepositoryFor, listRepositoriesFor, listTagsOf } from '../../db/queries/images';
import { requireAuthByMethod, type AuthEnv } from '../auth';
import { notFound } from '../core/errors';
import { registryHost } from './app-address';
import { PageQuery, pageSchema, parseCursor, toPage } from './pagination';
import { errors, json, Name, security } from './schemas';

const ImageSchema = z
  .object({ id: z.string(), name: z.string().openapi({ example: 'alice/web' }), reference: z.string(), public: z.boolean(), createdAt: z.string() })
  .openapi('Image');
const TagSchema = z
  .object({ name: z.string(), reference: z.string(), digest: z.string(), mediaType: z.string().nullable(), size: z.number().nullable(), updatedAt: z.string() })
  .openapi('Tag');
const RepoParams = z.object({
  namespace: Name.openapi({ param: { name: 'namespace', in: 'path' }, example: 'alice' }),
  name: z
    .string()
    .regex(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/, 'must be a repository name: lower-case letters and digits, separated by ".", "_" or "-"')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'web' }),
});

export const images = new OpenAPIHono<AuthEnv>();
images.use(requireAuthByMethod());

images.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags: ['images'],
    summary: 'List your images (repositories in Berth’s registry)',
    security,
    request: { query: PageQuery },
    responses: { 200: json(pageSchema(ImageSchema, 'ImagePage'), 'A page of images.'), 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const host = registryHost(c.var.platform);
    const rows = await listRepositoriesFor(c.var.platform.db, c.var.actingAccountIds, { limit: q.limit + 1, cursorId: parseCursor(q.cursor) });
    return c.json(toPage(rows, q.limit, (r) => ({ id: r.id, name: r.name, reference: `${host}/${r.name}`, public: r.public, createdAt: r.createdAt.toISOString() })), 200);
  },
);

images.openapi(
  createRoute({
    method: 'get',
    path: '/{namespace}/{name}/tags',
    tags: ['images'],
    summary: "List an image's tags",
    security,
    request: { params: RepoParams },
    responses: { 200: json(z.object({ items: z.array(TagSchema) }).openapi('TagList'), 'Tags, most recently moved first.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const { namespace, name } = c.req.valid('param');
    const full = `${namespace}/${name}`;
    const repo = await findRepositoryFor(c.var.platform.db, c.var.actingAccountIds, full);
    if (!repo) throw notFound(`Image "${full}" not found: list yours with GET /api/v1/images`);
    const host = registryHost(c.var.platform);
    const rows = await listTagsOf(c.var.platform.db, repo.id);
    return c.json(
      { items: rows.map((t) => ({ name: t.name, reference: `${host}/${full}:${t.name}`, digest: t.digest, mediaType: t.mediaType, size: t.size, updatedAt: t.updatedAt.toISOString() })) },
      200,
    );
  },
);
