import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../db/client';
import { findAccountByName, findAccountByToken } from '../../db/queries/accounts';
import { findNamespaceAccess } from '../../db/queries/registry-access';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 1 });
afterAll(() => sql.end());

describe('the local stack admin', () => {
  it('owns the library namespace, where FROM node:20 looks, so official images can be seeded there', async () => {
    const found = await findAccountByToken(db, stack.adminToken);
    expect(found?.account.name).toBe('admin');
    const library = await findAccountByName(db, 'library');
    expect(library?.kind).toBe('organization');
    expect((await findNamespaceAccess(db, 'library', found!.account.id)).isOwner).toBe(true);
  });
});
