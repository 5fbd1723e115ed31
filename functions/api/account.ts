// The caller's own account: who am I, API tokens (shown once, stored hashed), password, organisations.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { createToken, findAccountByName } from '../../db/queries/accounts';
import { addMember, createOrganization, findMembership, listMembers, listOrganizations } from '../../db/queries/memberships';
import { setPasswordHash } from '../../db/queries/passwords';
import { listTokens, revokeToken } from '../../db/queries/tokens';
import type { Account, Token } from '../../db/schema';
import { requireAuth, type AuthEnv } from '../auth';
import { conflict, forbidden, notFound } from '../core/errors';
import { hashPassword } from '../core/password';
import { errors, json, Name, security } from './schemas';

export const AccountSchema = z
  .object({ id: z.string(), name: z.string(), kind: z.enum(['user', 'organization']), isAdmin: z.boolean(), createdAt: z.string() })
  .openapi('Account');
export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(['read', 'write', 'admin'])),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Token');
const CreatedToken = TokenSchema.extend({ secret: z.string().openapi({ description: 'Shown this once; Berth keeps only its hash.' }) }).openapi('CreatedToken');
const CreateToken = z
  .object({
    name: z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
    scopes: z.array(z.enum(['read', 'write', 'admin'])).min(1, 'give at least one scope').default(['read', 'write']),
    expiresInDays: z.number().int('must be a whole number of days').min(1, 'must be at least 1').max(3650, 'must be at most 3650').optional(),
  })
  .strict()
  .openapi('CreateToken');
export const Password = z.string().min(10, 'must be at least 10 characters').max(1024, 'must be at most 1024 characters');

export function renderAccount(a: Account): z.infer<typeof AccountSchema> {
  return { id: a.id, name: a.name, kind: a.kind, isAdmin: a.isAdmin, createdAt: a.createdAt.toISOString() };
}

function renderToken(t: Token): z.infer<typeof TokenSchema> {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return { id: t.id, name: t.name, scopes: t.scopes as ('read' | 'write' | 'admin')[], expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt), lastUsedAt: iso(t.lastUsedAt), createdAt: t.createdAt.toISOString() };
}

export const account = new OpenAPIHono<AuthEnv>();

account.openapi(
  createRoute({ method: 'get', path: '/', tags: ['account'], summary: 'Who am I', security, middleware: [requireAuth('read')] as const, responses: { 200: json(AccountSchema, 'The account.'), 401: errors[401] } }),
  (c) => c.json(renderAccount(c.var.account), 200),
);

account.openapi(
  createRoute({
    method: 'put',
    path: '/password',
    tags: ['account'],
    summary: 'Set your password',
    description: 'Lets an account made by token only (the local `admin`) sign in on the web.',
    security,
    middleware: [requireAuth('write')] as const,
    request: { body: { required: true, content: { 'application/json': { schema: z.object({ password: Password }).strict() } } } },
    responses: { 204: { description: 'Set.' }, 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    await setPasswordHash(c.var.platform.db, c.var.account.id, await hashPassword(c.req.valid('json').password));
    return c.body(null, 204);
  },
);

account.openapi(
  createRoute({
    method: 'post',
    path: '/tokens',
    tags: ['account'],
    summary: 'Create an API token',
    security,
    middleware: [requireAuth('write')] as const,
    request: { body: { required: true, content: { 'application/json': { schema: CreateToken } } } },
    responses: { 201: json(CreatedToken, 'The token with its secret, shown once.'), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const body = c.req.valid('json');
    // A token cannot mint a stronger one.
    for (const s of body.scopes) {
      const held = c.var.scopes.includes('admin') || c.var.scopes.includes(s);
      if (!held || (s === 'admin' && !c.var.account.isAdmin)) throw forbidden(`Cannot create a token with scope '${s}': the caller does not hold it`);
    }
    const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86400_000) : null;
    const { token, secret } = await createToken(c.var.platform.db, c.var.account.id, { name: body.name, scopes: body.scopes, expiresAt });
    return c.json({ ...renderToken(token), secret }, 201);
  },
);

account.openapi(
  createRoute({
    method: 'get',
    path: '/tokens',
    tags: ['account'],
    summary: 'List your API tokens (never their secrets)',
    security,
    middleware: [requireAuth('read')] as const,
    responses: { 200: json(z.object({ items: z.array(TokenSchema) }).openapi('TokenList'), 'Tokens, newest first.'), 401: errors[401] },
  }),
  async (c) => c.json({ items: (await listTokens(c.var.platform.db, c.var.account.id)).map(renderToken) }, 200),
);

account.openapi(
  createRoute({
    method: 'delete',
    path: '/tokens/{id}',
    tags: ['account'],
    summary: 'Revoke an API token',
    security,
    middleware: [requireAuth('write')] as const,
    request: { params: z.object({ id: z.string().max(100).openapi({ param: { name: 'id', in: 'path' } }) }) },
    responses: { 200: json(TokenSchema, 'The revoked token.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const id = c.req.valid('param').id;
    const t = await revokeToken(c.var.platform.db, c.var.account.id, id);
    if (!t) throw notFound(`Token "${id}" not found: list yours with GET /api/v1/account/tokens`);
    return c.json(renderToken(t), 200);
  },
);

const OrgSchema = z.object({ id: z.string(), name: z.string(), role: z.string() }).openapi('Organization');

account.openapi(
  createRoute({
    method: 'post',
    path: '/organizations',
    tags: ['account'],
    summary: 'Create an organisation you own',
    security,
    middleware: [requireAuth('write')] as const,
    request: { body: { required: true, content: { 'application/json': { schema: z.object({ name: Name }).strict().openapi('CreateOrganization') } } } },
    responses: { 201: json(OrgSchema, 'The organisation.'), 400: errors[400], 401: errors[401], 409: errors[409] },
  }),
  async (c) => {
    const { name } = c.req.valid('json');
    if (c.var.account.kind !== 'user') throw forbidden('Cannot create an organisation: only users own organisations');
    if (await findAccountByName(c.var.platform.db, name)) throw conflict(`Cannot create organisation "${name}": the name is taken`, 'name_taken');
    const org = await createOrganization(c.var.platform.db, c.var.account, name);
    return c.json({ id: org.id, name: org.name, role: 'owner' }, 201);
  },
);

account.openapi(
  createRoute({
    method: 'get',
    path: '/organizations',
    tags: ['account'],
    summary: 'List the organisations you belong to',
    security,
    middleware: [requireAuth('read')] as const,
    responses: { 200: json(z.object({ items: z.array(OrgSchema) }).openapi('OrganizationList'), 'Organisations.'), 401: errors[401] },
  }),
  async (c) => {
    const rows = await listOrganizations(c.var.platform.db, c.var.account.id);
    return c.json({ items: rows.map((r) => ({ id: r.organization.id, name: r.organization.name, role: r.role })) }, 200);
  },
);

const OrgParam = z.object({ org: Name.openapi({ param: { name: 'org', in: 'path' } }) });

account.openapi(
  createRoute({
    method: 'put',
    path: '/organizations/{org}/members',
    tags: ['account'],
    summary: 'Add a user to an organisation you own',
    security,
    middleware: [requireAuth('write')] as const,
    request: { params: OrgParam, body: { required: true, content: { 'application/json': { schema: z.object({ user: Name, role: z.enum(['owner', 'member']).default('member') }).strict() } } } },
    responses: { 200: json(z.object({ items: z.array(z.object({ name: z.string(), role: z.string() })) }).openapi('MemberList'), 'The members.'), 400: errors[400], 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const db = c.var.platform.db;
    const { org: orgName } = c.req.valid('param');
    const body = c.req.valid('json');
    const org = await findAccountByName(db, orgName);
    const mine = org && org.kind === 'organization' ? await findMembership(db, org.id, c.var.account.id) : undefined;
    if (!org || !mine) throw notFound(`Organisation "${orgName}" not found among yours`);
    if (mine.role !== 'owner') throw forbidden(`Cannot add members to "${orgName}": only its owners may`);
    const user = await findAccountByName(db, body.user);
    if (!user || user.kind !== 'user') throw notFound(`User "${body.user}" not found`);
    await addMember(db, org.id, user.id, body.role);
    const members = await listMembers(db, org.id);
    return c.json({ items: members.map((m) => ({ name: m.user.name, role: m.role })) }, 200);
  },
);
