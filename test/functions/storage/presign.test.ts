import { describe, expect, it } from 'vitest';
import { presignGetUrl } from '../../../functions/storage/presign';

const example = {
  config: {
    endpoint: 'https://s3.amazonaws.com',
    region: 'us-east-1',
    bucket: 'examplebucket',
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    forcePathStyle: false,
  },
  key: 'test.txt',
  expiresInSeconds: 86400,
  now: new Date('2013-05-24T00:00:00Z'),
};
const exampleUrl =
  'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

describe('presignGetUrl', () => {
  it('matches the example in the AWS SigV4 query-string documentation', async () => {
    expect(await presignGetUrl(example)).toBe(exampleUrl);
  });

  it('signs alike with the signing key it derived earlier that day, and apart for another secret', async () => {
    const [a, b] = await Promise.all([presignGetUrl(example), presignGetUrl(example)]);
    expect([a, b]).toEqual([exampleUrl, exampleUrl]);
    const other = await presignGetUrl({ ...example, config: { ...example.config, secretAccessKey: 'another' } });
    expect(other.replace(/Signature=.*/, '')).toBe(exampleUrl.replace(/Signature=.*/, ''));
    expect(other).not.toBe(exampleUrl);
    expect(await presignGetUrl(example)).toBe(exampleUrl);
  });
});
