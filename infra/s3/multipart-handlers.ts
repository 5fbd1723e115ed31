// Multipart upload operations: Create, UploadPart, Complete, Abort and ListParts.
import { receiveSmall, receiveToFile } from './body';
import { header, isoDate, metadataFromRequest, send, sendXml, type S3Call } from './call';
import { S3Error } from './errors';
import { MAX_PART_NUMBER } from './multipart';
import { readElements, readText, requireRoot, s3Document, xmlElement } from './xml';

function uploadId(call: S3Call): string {
  return call.query.get('uploadId') ?? '';
}

function parsePartNumber(v: string | null, what: string): number {
  if (v === null || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_PART_NUMBER) {
    throw new S3Error('InvalidArgument', `${what} "${(v ?? '').slice(0, 20)}" must be an integer between 1 and ${MAX_PART_NUMBER}`);
  }
  return Number(v);
}

export async function createMultipartUpload(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  const upload = await call.uploads.create(call.bucket, call.key, metadataFromRequest(call));
  sendXml(call, s3Document('InitiateMultipartUploadResult', [xmlElement('Bucket', call.bucket), xmlElement('Key', call.key), xmlElement('UploadId', upload.id)]));
}

export async function uploadPart(call: S3Call): Promise<void> {
  if (header(call, 'x-amz-copy-source') !== undefined) throw new S3Error('NotImplemented', 'UploadPartCopy is not implemented by this server');
  const partNumber = parsePartNumber(call.query.get('partNumber'), 'Part number');
  const upload = await call.uploads.load(call.bucket, call.key, uploadId(call));
  const temp = call.objects.tempPath();
  await receiveToFile(call, temp);
  const info = await call.uploads.putPart(upload, partNumber, temp);
  send(call, 200, { ETag: `"${info.etag}"` });
}

export async function completeMultipartUpload(call: S3Call): Promise<void> {
  const upload = await call.uploads.load(call.bucket, call.key, uploadId(call));
  const xml = (await receiveSmall(call, 4 << 20)).toString('utf8');
  requireRoot(xml, 'CompleteMultipartUpload');
  const parts = readElements(xml, 'Part').map((p) => {
    const n = readText(p, 'PartNumber');
    const etag = readText(p, 'ETag');
    if (n === undefined || etag === undefined) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate: a <Part> needs <PartNumber> and <ETag>');
    return { partNumber: parsePartNumber(n, 'PartNumber'), etag };
  });
  const info = await call.uploads.complete(upload, parts);
  sendXml(
    call,
    s3Document('CompleteMultipartUploadResult', [
      xmlElement('Location', `/${call.bucket}/${call.key}`),
      xmlElement('Bucket', call.bucket),
      xmlElement('Key', call.key),
      xmlElement('ETag', `"${info.etag}"`),
    ]),
  );
}

export async function abortMultipartUpload(call: S3Call): Promise<void> {
  const upload = await call.uploads.load(call.bucket, call.key, uploadId(call));
  await call.uploads.abort(upload);
  send(call, 204, {});
}

export async function listParts(call: S3Call): Promise<void> {
  const upload = await call.uploads.load(call.bucket, call.key, uploadId(call));
  const marker = call.query.get('part-number-marker');
  const after = marker === null ? 0 : Number(marker) || 0;
  const maxRaw = call.query.get('max-parts');
  const max = maxRaw === null ? 1000 : Math.min(1000, Math.max(0, Number(maxRaw) || 0));
  const all = (await call.uploads.listParts(upload)).filter((p) => p.partNumber > after);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  sendXml(
    call,
    s3Document('ListPartsResult', [
      xmlElement('Bucket', call.bucket),
      xmlElement('Key', call.key),
      xmlElement('UploadId', upload.id),
      xmlElement('PartNumberMarker', after),
      ...(truncated ? [xmlElement('NextPartNumberMarker', page[page.length - 1]?.partNumber ?? after)] : []),
      xmlElement('MaxParts', max),
      xmlElement('IsTruncated', truncated),
      xmlElement('StorageClass', 'STANDARD'),
      ...page.map((p) =>
        xmlElement('Part', [xmlElement('PartNumber', p.partNumber), xmlElement('LastModified', isoDate(p.lastModified)), xmlElement('ETag', `"${p.etag}"`), xmlElement('Size', p.size)]),
      ),
    ]),
  );
}
