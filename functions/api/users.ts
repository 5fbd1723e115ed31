// Sign-up over the API: a new user with a password and a first token, shown once.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { createAccount, createToken, findAccountByName } from '../../db/queries/accounts';
import type { AuthEnv } from '../auth';
import { conflict } from '../core/errors';
import { hashPassword } from '../core/password';
import { AccountSchema, Password, renderAccount } from './account';
import { errors, json, Name } from './schemas';

export const users = new OpenAPIHono<AuthEnv>();

/** Creates a user; undefined when the name is taken. Shared by the API and the web sign-up form. */
export async function signUp(db: Parameters<typeof createAccount>[0], name: string, password: string) {
  if (await findAccountByName(db, name)) return undefined;
  try {
    return await createAccount(db, { name, passwordHash: await hashPassword(password) });
  } catch (err) {
    if ((err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505') return undefined;
    throw err;
  }
}

users.openapi(
  createRoute({
    method: 'post',
    path: '/',
    tags: ['account'],
    summary: 'Sign up',
    request: { body: { required: true, content: { 'application/json': { schema: z.object({ name: Name, password: Password }).strict().openapi('SignUp') } } } },
    responses: {
      201: json(z.object({ account: AccountSchema, token: z.string().openapi({ description: 'A read/write API token, shown once.' }) }).openapi('SignedUp'), 'The account and a first token.'),
      400: errors[400],
      409: errors[409],
    },
  }),
  async (c) => {
    const { name, password } = c.req.valid('json');
    const account = await signUp(c.var.platform.db, name, password);
    if (!account) throw conflict(`Cannot sign up as "${name}": the name is taken, choose another`, 'name_taken');
    const { secret } = await createToken(c.var.platform.db, account.id, { name: 'sign-up', scopes: ['read', 'write'] });
    return c.json({ account: renderAccount(account), token: secret }, 201);
  },
);
