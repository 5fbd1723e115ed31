// Just enough XML for S3: writing responses, and reading the two small request documents S3 takes
// (CompleteMultipartUpload and DeleteObjects), whose shapes are flat and known.
import { S3Error } from './errors';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** `<name>text</name>`, or `<name>children…</name>` for an array of already rendered elements. */
export function xmlElement(name: string, content: string | number | boolean | string[], attributes = ''): string {
  const inner = Array.isArray(content) ? content.join('') : escapeXml(String(content));
  return `<${name}${attributes}>${inner}</${name}>`;
}

export function xmlDocument(root: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}`;
}

/** A root element in S3's namespace. */
export function s3Document(name: string, children: string[]): string {
  return xmlDocument(xmlElement(name, children, ` xmlns="${S3_NAMESPACE}"`));
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!;
  });
}

/** The inner text of every `<name>` element directly or indirectly in `xml` (no nesting of `name`). */
export function readElements(xml: string, name: string): string[] {
  const re = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z0-9_-]+:)?${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!);
}

/** The text of the one `<name>` in `xml`, unescaped; undefined when absent. */
export function readText(xml: string, name: string): string | undefined {
  const [inner] = readElements(xml, name);
  if (inner === undefined) return undefined;
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(inner);
  return cdata ? cdata[1] : unescapeXml(inner);
}

/** Checks that a request document has the expected root element. */
export function requireRoot(xml: string, root: string): void {
  const body = xml.replace(/^\s*(<\?xml[^>]*\?>)?\s*/, '');
  if (!new RegExp(`^<(?:[A-Za-z0-9_-]+:)?${root}[\\s>]`).test(body)) {
    throw new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate: expected a <${root}> document`);
  }
}
