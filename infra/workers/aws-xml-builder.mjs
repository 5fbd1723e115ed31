// Wrangler bundles for workerd with the "browser" condition, which swaps @aws-sdk/xml-builder's XML
// parser for one built on DOMParser — absent in workerd, so every S3 response with an XML body
// (CreateMultipartUpload, CompleteMultipartUpload, CopyObject, errors) failed there. wrangler.toml
// aliases the package to this module, which serves the same exports with the package's own
// pure-JavaScript parser.
export { XmlNode } from '../../node_modules/@aws-sdk/xml-builder/dist-es/XmlNode.js';
export { XmlText } from '../../node_modules/@aws-sdk/xml-builder/dist-es/XmlText.js';
export { parseXML } from '../../node_modules/@aws-sdk/xml-builder/dist-es/xml-parser.js';
