// S3's error vocabulary: each failure carries the code and status real S3 answers with, so SDKs map
// it to the same exception (NoSuchKey, SignatureDoesNotMatch, …) they would meet in production.
import { xmlDocument, xmlElement } from './xml';

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
};

export class S3Error extends Error {
  override readonly name = 'S3Error';
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    /** Extra elements of the error document (Key, BucketName, …). */
    readonly details: Record<string, string> = {},
    /** Extra response headers (Content-Range on InvalidRange). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = STATUS[code] ?? 400;
  }
}

/** The error document S3 clients parse: <Error><Code/><Message/>…</Error>. */
export function renderError(err: S3Error, resource: string, requestId: string): string {
  return xmlDocument(
    xmlElement('Error', [
      xmlElement('Code', err.code),
      xmlElement('Message', err.message),
      ...Object.entries(err.details).map(([k, v]) => xmlElement(k, v)),
      xmlElement('Resource', resource),
      xmlElement('RequestId', requestId),
    ]),
  );
}
