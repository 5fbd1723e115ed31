// Berth's local S3-compatible server: path-style requests (http://host/<bucket>/<key>), every call
// SigV4-verified against the configured key pairs, objects on the filesystem. It implements what
// Berth and its tests call, as real S3 answers it; other subresources get NotImplemented.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createBucket, deleteBucket, deleteObjects, headBucket, listBuckets, listObjects } from './bucket-handlers';
import type { S3Call } from './call';
import { renderError, S3Error } from './errors';
import { importS3rverObjects } from './import-s3rver';
import { MultipartStore } from './multipart';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listParts, uploadPart } from './multipart-handlers';
import { copyObject, deleteObject, getObject, putObject } from './object-handlers';
import { isBucketName, ObjectStore } from './object-store';
import { verifyRequest, type Credentials } from './sigv4';
import { s3Document } from './xml';

export interface S3ServerOptions {
  /** Where buckets live: <root>/<bucket>/… */
  root: string;
  /** Key pairs whose signatures are accepted. */
  credentials: Credentials[];
  /** Buckets created at start when missing. */
  buckets?: string[];
}

/** Subresources S3 has and this server does not: refused plainly rather than misread as a plain GET/PUT. */
const UNSUPPORTED = [
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold', 'lifecycle',
  'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication',
  'requestPayment', 'restore', 'retention', 'select', 'tagging', 'torrent', 'versioning', 'versions', 'website',
];

type Handler = (call: S3Call) => Promise<void>;

/** Picks the operation from method, path and query, as S3 does. */
export function route(method: string, bucket: string, key: string, query: URLSearchParams, hasCopySource: boolean): Handler | undefined {
  const has = (p: string) => query.has(p);
  if (!bucket) return method === 'GET' ? listBuckets : undefined;
  if (!key) {
    if (method === 'GET' && has('uploads')) return notImplemented('ListMultipartUploads');
    if (method === 'GET' && has('location')) return sendLocation;
    if (method === 'GET') return (call) => listObjects(call, query.get('list-type') === '2');
    if (method === 'HEAD') return headBucket;
    if (method === 'PUT') return createBucket;
    if (method === 'DELETE') return deleteBucket;
    if (method === 'POST' && has('delete')) return deleteObjects;
    return undefined;
  }
  if (method === 'PUT') return has('uploadId') ? uploadPart : hasCopySource ? copyObject : putObject;
  if (method === 'GET') return has('uploadId') ? listParts : (call) => getObject(call, false);
  if (method === 'HEAD') return (call) => getObject(call, true);
  if (method === 'DELETE') return has('uploadId') ? abortMultipartUpload : deleteObject;
  if (method === 'POST' && has('uploads')) return createMultipartUpload;
  if (method === 'POST' && has('uploadId')) return completeMultipartUpload;
  return undefined;
}

function notImplemented(what: string): Handler {
  return async () => {
    throw new S3Error('NotImplemented', `${what} is not implemented by this server`);
  };
}

async function sendLocation(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  call.res.writeHead(200, { 'Content-Type': 'application/xml' });
  call.res.end(s3Document('LocationConstraint', []));
}

/** Splits `/<bucket>/<key>` (percent-encoded) into bucket and key. */
export function parsePath(rawPath: string): { bucket: string; key: string } {
  const path = rawPath.replace(/^\/+/, '');
  const slash = path.indexOf('/');
  const rawBucket = slash < 0 ? path : path.slice(0, slash);
  const rawKey = slash < 0 ? '' : path.slice(slash + 1);
  try {
    return { bucket: decodeURIComponent(rawBucket), key: decodeURIComponent(rawKey) };
  } catch {
    throw new S3Error('InvalidURI', `Couldn't parse the specified URI "${rawPath.slice(0, 200)}": bad percent-encoding`);
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, o: S3ServerOptions, objects: ObjectStore, uploads: MultipartStore): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const { bucket, key } = parsePath(q < 0 ? url : url.slice(0, q));
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const lookup = (id: string) => o.credentials.find((c) => c.accessKeyId === id)?.secretAccessKey;
  const signed = { method: req.method ?? 'GET', url, rawHeaders: req.rawHeaders };
  // A chunked body whose signature covers a Content-Length that did not arrive: what Workers' fetch
  // sends for a plain stream body. S3 answers 411, and so does this server, so the tests catch it.
  if (lostSignedLength(req)) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  const auth = verifyRequest(signed, lookup);
  if (bucket && !isBucketName(bucket)) {
    if (req.method === 'PUT' && !key) throw new S3Error('InvalidBucketName', `The specified bucket "${bucket.slice(0, 100)}" is not valid: 3–63 of a-z, 0-9, '.' and '-'`);
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket.slice(0, 100) });
  }
  const unsupported = UNSUPPORTED.find((s) => query.has(s));
  if (unsupported) throw new S3Error('NotImplemented', `The ?${unsupported} subresource is not implemented by this server`);
  const handler = route(req.method ?? 'GET', bucket, key, query, req.headers['x-amz-copy-source'] !== undefined);
  if (!handler) throw new S3Error('MethodNotAllowed', `The specified method ${req.method} is not allowed against this resource`);
  await handler({ req, res, auth, body: req, bucket, key, query, objects, uploads });
}

/** A chunked request whose signature covers a Content-Length that did not arrive. */
function lostSignedLength(req: IncomingMessage): boolean {
  const signedHeaders = /SignedHeaders=([^,\s]+)/.exec(req.headers.authorization ?? '')?.[1]?.split(';') ?? [];
  return req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined && signedHeaders.includes('content-length');
}

function fail(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string): void {
  const e = err instanceof S3Error ? err : new S3Error('InternalError', 'We encountered an internal error. Please try again.');
  if (!(err instanceof S3Error)) console.error(`s3: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const resource = (req.url ?? '/').split('?')[0]!;
  const body = req.method === 'HEAD' ? undefined : Buffer.from(renderError(e, resource, requestId));
  res.writeHead(e.status, { ...e.headers, 'Content-Type': 'application/xml', 'Content-Length': body?.length ?? 0 });
  res.end(body);
  // An error sent before the body was read: drop the rest of it rather than parse it as a request.
  if (!req.complete) req.resume();
}

export async function createS3Server(o: S3ServerOptions): Promise<Server> {
  const objects = new ObjectStore(o.root);
  await objects.init();
  const imported = await importS3rverObjects(objects);
  if (imported > 0) console.log(`s3: took over ${imported} objects stored by s3rver`);
  for (const b of o.buckets ?? []) {
    if (!isBucketName(b)) throw new Error(`Cannot create bucket "${b}": 3–63 of a-z, 0-9, '.' and '-'`);
    await objects.createBucket(b);
  }
  const uploads = new MultipartStore(objects);
  const server = createServer({ highWaterMark: 1 << 20 }, (req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', requestId);
    handle(req, res, o, objects, uploads).catch((err) => fail(req, res, err, requestId));
  });
  // Large objects on a loaded machine may take a while; S3 itself has no short request timeout.
  server.requestTimeout = 0;
  return server;
}
