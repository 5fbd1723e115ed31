import { describe, expect, it } from 'vitest';
import { parseScope, signRegistryToken, verifyRegistryToken, type RegistryClaims } from '../../../functions/registry/token';

const claims = (exp: number): RegistryClaims => ({ iss: 'berth', aud: 'berth', sub: 'acc_1', name: 'admin', iat: 0, exp, access: [{ type: 'repository', name: 'admin/x', actions: ['pull'] }] });

describe('registry tokens', () => {
  it('verifies what it signed and nothing else', async () => {
    const future = Math.floor(Date.now() / 1000) + 60;
    const token = await signRegistryToken('secret', claims(future));
    expect(await verifyRegistryToken('secret', token)).toEqual(claims(future));
    expect(await verifyRegistryToken('other secret', token)).toBeUndefined();
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims(future), access: [{ type: 'repository', name: 'other/x', actions: ['push'] }] })).toString('base64url');
    expect(await verifyRegistryToken('secret', `${h}.${forged}.${s}`)).toBeUndefined();
    expect(await verifyRegistryToken('secret', `${h}.${p}`)).toBeUndefined();
    expect(await verifyRegistryToken('secret', await signRegistryToken('secret', claims(1)))).toBeUndefined();
  });

  it('remembers a verified token only for its secret and until it expires', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = await signRegistryToken('remembered', claims(exp));
    expect(await verifyRegistryToken('remembered', token)).toEqual(claims(exp));
    expect(await verifyRegistryToken('remembered', token)).toEqual(claims(exp));
    expect(await verifyRegistryToken('another', token)).toBeUndefined();
    expect(await verifyRegistryToken('remembered', token, exp * 1000)).toBeUndefined();
    expect(await verifyRegistryToken('remembered', token, exp * 1000 - 1)).toEqual(claims(exp));
  });

  it('parses scopes, expanding *', () => {
    expect(parseScope('repository:admin/a/b:pull,push')).toEqual({ type: 'repository', name: 'admin/a/b', actions: ['pull', 'push'] });
    expect(parseScope('repository:admin/x:*')).toEqual({ type: 'repository', name: 'admin/x', actions: ['pull', 'push', 'delete'] });
    expect(parseScope('registry:catalog:*')?.type).toBe('registry');
    expect(parseScope('nonsense')).toBeUndefined();
    expect(parseScope('user:x:pull')).toBeUndefined();
  });
});
