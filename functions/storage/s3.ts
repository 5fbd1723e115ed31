import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';

export interface S3Config {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The embedded S3 server and MinIO want path-style addressing. */
  forcePathStyle: boolean;
}

/**
 * One client works on both runtimes: the fetch handler accepts web ReadableStream bodies on Node
 * too, and checksums only WHEN_REQUIRED keep streamed uploads from being stored with aws-chunked
 * framing inside the object. Node processes pass a faster handler (s3-client.node.ts).
 */
export function createS3Client(config: S3Config, requestHandler: S3ClientConfig['requestHandler'] = new FetchHttpHandler()): S3Client {
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestHandler,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const body = request.body;
      if (request.headers && body instanceof Uint8Array && body.length >= UNSIGNED_FROM_BYTES) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'berthUnsignedPayload' },
  );
  return client;
}

/**
 * Bodies from this size up are sent with an unsigned payload: the signer would otherwise hash every
 * part (and the server hash it again) only to prove bytes that Berth verifies by digest anyway.
 * Content-Length stays signed; TLS protects the bytes in transit to real S3.
 */
const UNSIGNED_FROM_BYTES = 64 * 1024;

/** Reads S3 settings from an env-like record (process.env on Node, bindings on Workers). */
export function readS3Config(env: Record<string, string | undefined>): S3Config {
  return {
    endpoint: env.S3_ENDPOINT || undefined,
    region: env.S3_REGION || 'us-east-1',
    bucket: env.S3_BUCKET || 'berth',
    accessKeyId: env.S3_ACCESS_KEY_ID || 'berth',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY || 'berth',
    forcePathStyle: (env.S3_FORCE_PATH_STYLE ?? (env.S3_ENDPOINT ? 'true' : 'false')) === 'true',
  };
}
