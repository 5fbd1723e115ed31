// Whether a blob GET answers with a redirect to a presigned S3 URL or streams the bytes itself.
// Redirected, the bytes skip the functions: on one machine that is one loopback hop and its CPU
// less per byte. But a presigned URL of an S3 server on 127.0.0.1 only works for a client on the
// same machine, so `local` redirects only requests that plainly come from it.
import type { S3Config } from '../storage/s3';
import type { RegistryContext } from './context';

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * True when the client and the S3 server are on this machine: S3's endpoint and the URL the
 * client asked for (its Host) are loopback, no public URL says otherwise, and no proxy says it
 * forwarded the request for someone else.
 */
export function isSameMachineRequest(requestUrl: string, headers: (name: string) => string | undefined, s3Endpoint: string | undefined, publicUrl: string | undefined): boolean {
  if (!s3Endpoint || !isLoopbackHost(new URL(s3Endpoint).hostname)) return false;
  if (publicUrl && !isLoopbackHost(new URL(publicUrl).hostname)) return false;
  if (headers('forwarded') || headers('x-forwarded-for') || headers('x-forwarded-host') || headers('x-real-ip')) return false;
  return isLoopbackHost(new URL(requestUrl).hostname);
}

/**
 * Under `local`, smaller blobs (configs, small layers) are streamed: their bytes cost the functions
 * next to nothing, and the client is spared a second request.
 */
const LOCAL_REDIRECT_FROM_BYTES = 512 * 1024;

/** The S3 configuration to presign a redirect of a `size`-byte blob with, or undefined to stream. */
export function blobRedirectFor(rc: RegistryContext, size: number): { s3: S3Config; expiresInSeconds: number } | undefined {
  const r = rc.platform.blobRedirect;
  if (!r) return undefined;
  if ((r.when ?? 'always') === 'always') return r;
  if (size < LOCAL_REDIRECT_FROM_BYTES) return undefined;
  return isSameMachineRequest(rc.c.req.url, (n) => rc.c.req.header(n), r.s3.endpoint, rc.platform.publicUrl) ? r : undefined;
}
