// Bundled in place of @aws-sdk/xml-builder for Workers (see wrangler.toml [alias]). The package's
// browser build parses S3's XML responses with DOMParser, which workerd lacks; its plain build
// parses in JavaScript. Plain JS so the path can name the file without a TypeScript step.
export { XmlNode } from '../../node_modules/@aws-sdk/xml-builder/dist-es/XmlNode.js';
export { XmlText } from '../../node_modules/@aws-sdk/xml-builder/dist-es/XmlText.js';
export { parseXML } from '../../node_modules/@aws-sdk/xml-builder/dist-es/xml-parser.js';
