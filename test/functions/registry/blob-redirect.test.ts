import { describe, expect, it } from 'vitest';
import { isLoopbackHost, isSameMachineRequest } from '../../../functions/registry/blob-redirect';

const none = () => undefined;

describe('isLoopbackHost', () => {
  it('knows loopback names and addresses, and nothing else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', 'registry.localhost', '[::1]', '::1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['10.0.0.1', '0.0.0.0', 'example.com', '127.0.0.1.example.com', 'localhost.example.com', '[::]', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('isSameMachineRequest', () => {
  const s3 = 'http://127.0.0.1:9000';
  it('holds for a loopback client of a loopback S3 with no public URL elsewhere', () => {
    expect(isSameMachineRequest('http://127.0.0.1:8080/v2/', none, s3, undefined)).toBe(true);
    expect(isSameMachineRequest('http://localhost:8080/v2/', none, s3, 'http://127.0.0.1:8080')).toBe(true);
  });
  it('fails when S3 is elsewhere, the public URL is elsewhere, the Host is elsewhere or a proxy forwarded', () => {
    expect(isSameMachineRequest('http://127.0.0.1:8080/v2/', none, 'https://s3.eu-west-1.amazonaws.com', undefined)).toBe(false);
    expect(isSameMachineRequest('http://127.0.0.1:8080/v2/', none, undefined, undefined)).toBe(false);
    expect(isSameMachineRequest('http://127.0.0.1:8080/v2/', none, s3, 'https://berth.example.com')).toBe(false);
    expect(isSameMachineRequest('http://berth.example.com/v2/', none, s3, undefined)).toBe(false);
    for (const h of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip']) {
      expect(isSameMachineRequest('http://127.0.0.1:8080/v2/', (n) => (n === h ? 'for=203.0.113.9' : undefined), s3, undefined), h).toBe(false);
    }
  });
});
