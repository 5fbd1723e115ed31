import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDb } from '../db/client';
import { createAccount, createToken, findAccountByName, findAccountByToken } from '../db/queries/accounts';
import { addMember, findMembership } from '../db/queries/memberships';
import { ensureSystemAccount } from '../runner/image/base-images';

/**
 * Ensures the local `admin` account exists and `<home>/token` holds a live token of it. The admin is
 * a member of `library`, the namespace Docker Hub's official images live in inside Berth's registry
 * (`FROM node:20` is `library/node:20`), so images can be seeded there with skopeo where Docker Hub is
 * out of reach.
 */
export async function ensureAdminToken(databaseUrl: string, home: string): Promise<string> {
  const { db, sql } = createDb(databaseUrl, { max: 1 });
  try {
    const admin = (await findAccountByName(db, 'admin')) ?? (await createAccount(db, { name: 'admin', isAdmin: true }));
    const library = await ensureSystemAccount(db);
    if (!(await findMembership(db, library, admin.id))) await addMember(db, library, admin.id, 'owner');
    const file = join(home, 'token');
    if (existsSync(file)) {
      const secret = readFileSync(file, 'utf8').trim();
      const found = await findAccountByToken(db, secret);
      if (found?.account.name === 'admin') return secret;
    }
    const { secret } = await createToken(db, admin.id, { name: 'local stack', scopes: ['read', 'write', 'admin'] });
    writeFileSync(file, secret + '\n', { mode: 0o600 });
    return secret;
  } finally {
    await sql.end();
  }
}
