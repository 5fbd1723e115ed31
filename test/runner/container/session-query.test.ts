import { describe, expect, it } from 'vitest';
import { parseSessionRequest } from '../../../runner/container/attach';
import { answerQuery } from '../../../runner/container/container-query';

const id = 'cd'.repeat(32);

describe('the session socket\'s top and stats requests', () => {
  it('reads them, ps options defaulting to -ef', () => {
    expect(parseSessionRequest(JSON.stringify({ kind: 'top', containerId: id }))).toEqual({ kind: 'top', containerId: id, psArgs: ['-ef'] });
    expect(parseSessionRequest(JSON.stringify({ kind: 'top', containerId: id, psArgs: ['-o', 'pid,comm'] }))).toEqual({ kind: 'top', containerId: id, psArgs: ['-o', 'pid,comm'] });
    expect(parseSessionRequest(JSON.stringify({ kind: 'stats', containerId: id }))).toEqual({ kind: 'stats', containerId: id });
  });

  it('refuses ps options that are not plain options, naming them', () => {
    for (const psArgs of [['-ef;reboot'], ['$(id)'], 'ef', [1], Array(17).fill('-e')]) {
      expect(() => parseSessionRequest(JSON.stringify({ kind: 'top', containerId: id, psArgs }))).toThrow('"psArgs" must be a list of ps options');
    }
  });

  it('answers only for a container running on this runner', async () => {
    await expect(answerQuery({ runningRuncId: () => undefined }, { kind: 'stats', containerId: id })).rejects.toThrow(`Container ${id} is not running`);
  });
});
