// Client generators name their methods by operationId: give every operation a stable one derived
// from its method and path, e.g. GET /apps/{app}/builds → getAppsByAppBuilds.

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

export function operationIdFor(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      const word = (param ? `by-${param[1]}` : seg).replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ''));
      return word.charAt(0).toUpperCase() + word.slice(1);
    });
  return method + words.join('');
}

export function addOperationIds<T extends { paths?: object }>(doc: T): T {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as object)) {
      if (METHODS.has(method) && op && typeof op === 'object' && !(op as { operationId?: string }).operationId) {
        (op as { operationId?: string }).operationId = operationIdFor(method, path);
      }
    }
  }
  return doc;
}
