import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDb } from '../db/client';
import { createAccount, createToken, findAccountByName, findAccountByToken } from '../db/queries/accounts';

/** Ensures the local `admin` account exists and `<home>/token` holds a live token of it. */
export async function ensureAdminToken(databaseUrl: string, home: string): Promise<string> {
  const { db, sql } = createDb(databaseUrl, { max: 1 });
  try {
    const file = join(home, 'token');
    if (existsSync(file)) {
      const secret = readFileSync(file, 'utf8').trim();
      const found = await findAccountByToken(db, secret);
      if (found?.account.name === 'admin') return secret;
    }
    const admin = (await findAccountByName(db, 'admin')) ?? (await createAccount(db, { name: 'admin', isAdmin: true }));
    const { secret } = await createToken(db, admin.id, { name: 'local stack', scopes: ['read', 'write', 'admin'] });
    writeFileSync(file, secret + '\n', { mode: 0o600 });
    return secret;
  } finally {
    await sql.end();
  }
}
