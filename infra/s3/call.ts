// One S3 request as the handlers see it, and how they answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { MultipartStore } from './multipart';
import type { ObjectMetadata, ObjectStore } from './object-store';
import { STORED_HEADERS } from './object-store';
import type { Authentication } from './sigv4';

export interface S3Call {
  req: IncomingMessage;
  res: ServerResponse;
  auth: Authentication;
  /** The request body (the request itself). */
  body: Readable;
  /** '' for the service (ListBuckets). */
  bucket: string;
  /** '' for bucket operations. */
  key: string;
  query: URLSearchParams;
  objects: ObjectStore;
  uploads: MultipartStore;
}

export function header(call: S3Call, name: string): string | undefined {
  const v = call.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function send(call: S3Call, status: number, headers: Record<string, string | number>, body?: string): void {
  const bytes = body === undefined ? undefined : Buffer.from(body);
  call.res.writeHead(status, { ...headers, 'Content-Length': bytes ? bytes.length : 0 });
  call.res.end(bytes);
}

export function sendXml(call: S3Call, xml: string): void {
  send(call, 200, { 'Content-Type': 'application/xml' }, xml);
}

/** The headers an object stores: Content-Type and friends, and x-amz-meta-*. */
export function metadataFromRequest(call: S3Call): ObjectMetadata {
  const m: ObjectMetadata = {};
  for (const name of STORED_HEADERS) {
    let v = header(call, name);
    // aws-chunked is the transfer's framing, not the object's encoding.
    if (name === 'content-encoding' && v) v = v.split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked').join(', ');
    if (v) m[name] = v;
  }
  for (const [name, v] of Object.entries(call.req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof v === 'string') m[name] = v;
  }
  return m;
}

export function httpDate(d: Date): string {
  return d.toUTCString();
}

/** S3's timestamps in XML: ISO 8601 with milliseconds. */
export function isoDate(d: Date): string {
  return d.toISOString();
}
