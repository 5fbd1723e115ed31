// The API reference as one server-rendered page, drawn from the OpenAPI document itself: no
// client-side renderer and no assets from elsewhere (Berth may run where there is no internet).
import type { FC } from 'hono/jsx';

type Json = Record<string, unknown>;
type Doc = { info?: Json; servers?: { url: string }[]; paths?: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json> } };

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function schemaText(schema: unknown, depth = 0): string {
  if (!schema || typeof schema !== 'object') return 'any';
  const s = schema as Json;
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop()!;
  if (depth > 3) return '…';
  if (Array.isArray(s.anyOf)) return s.anyOf.map((x) => schemaText(x, depth + 1)).join(' | ');
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (type === 'array') return `${schemaText(s.items, depth + 1)}[]`;
  if (type === 'object' && s.properties) {
    const req = new Set((s.required as string[]) ?? []);
    return `{ ${Object.entries(s.properties as Json)
      .map(([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${schemaText(v, depth + 1)}`)
      .join(', ')} }`;
  }
  if (type === 'object' && s.additionalProperties) return `{ [name]: ${schemaText(s.additionalProperties, depth + 1)} }`;
  return String(type ?? 'any');
}

const css = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
main{max-width:960px;margin:0 auto;padding:24px}
h1{margin:0 0 4px} .op{background:#fff;border:1px solid #e3e6ec;border-radius:8px;padding:12px 16px;margin:10px 0}
.m{display:inline-block;min-width:58px;font:600 12px monospace;text-transform:uppercase;padding:2px 6px;border-radius:4px;color:#fff;text-align:center}
.get{background:#2f7d4f}.post{background:#2457a6}.put,.patch{background:#8a5a00}.delete{background:#a12d2d}
code,pre{font-family:ui-monospace,monospace;font-size:13px} pre{white-space:pre-wrap;background:#f1f3f6;padding:8px;border-radius:6px;margin:4px 0}
table{border-collapse:collapse} td{padding:2px 10px 2px 0;vertical-align:top} .muted{color:#5c6578}
nav a{margin-right:10px}`;

/** A schema: a link to its entry when it is a named one, its shape otherwise. */
const SchemaRef: FC<{ schema: unknown }> = ({ schema }) => {
  const ref = (schema as Json | undefined)?.$ref;
  if (typeof ref === 'string') {
    const name = ref.split('/').pop()!;
    return <a href={`#schema-${name}`}><code>{name}</code></a>;
  }
  return <code>{schemaText(schema)}</code>;
};

const Operation: FC<{ prefix: string; path: string; method: string; op: Json }> = ({ prefix, path, method, op }) => {
  const params = (op.parameters as Json[] | undefined) ?? [];
  const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
  const responses = (op.responses as Record<string, Json>) ?? {};
  return (
    <div class="op" id={`${method}-${path}`}>
      <div>
        <span class={`m ${method}`}>{method}</span> <code>{prefix + path}</code> — {String(op.summary ?? '')}
      </div>
      {op.description ? <p class="muted">{String(op.description)}</p> : null}
      {params.length > 0 ? (
        <table>
          {params.map((p) => (
            <tr>
              <td><code>{String(p.name)}</code></td>
              <td class="muted">{String(p.in)}{p.required ? ', required' : ''}</td>
              <td><code>{schemaText(p.schema)}</code></td>
            </tr>
          ))}
        </table>
      ) : null}
      {body
        ? Object.entries(body).map(([type, c]) => (
            <div>
              Body <code>{type}</code>: <SchemaRef schema={c.schema} />
            </div>
          ))
        : null}
      <table>
        {Object.entries(responses).map(([status, r]) => (
          <tr>
            <td><code>{status}</code></td>
            <td>{String(r.description ?? '')}</td>
            <td>{Object.values((r.content as Record<string, Json>) ?? {}).map((c) => <SchemaRef schema={c.schema} />)[0] ?? ''}</td>
          </tr>
        ))}
      </table>
    </div>
  );
};

export function renderDocsPage(doc: Doc) {
  const paths = Object.entries(doc.paths ?? {});
  const schemas = Object.entries(doc.components?.schemas ?? {});
  return (
    '<!doctype html>' +
    (
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Berth API reference</title>
          <style>{css}</style>
        </head>
        <body>
          <main>
            <h1>{String(doc.info?.title ?? 'API')}</h1>
            <p class="muted">{String(doc.info?.description ?? '')}</p>
            <nav><a href="/api/v1/openapi.json">openapi.json</a><a href="#schemas">Schemas</a></nav>
            {paths.map(([path, ops]) => METHODS.filter((m) => ops[m]).map((m) => <Operation prefix={doc.servers?.[0]?.url ?? ''} path={path} method={m} op={ops[m]!} />))}
            <h2 id="schemas">Schemas</h2>
            {schemas.map(([name, s]) => (
              <div class="op" id={`schema-${name}`}>
                <strong>{name}</strong>
                <pre>{schemaText({ ...s, $ref: undefined }, 0)}</pre>
              </div>
            ))}
          </main>
        </body>
      </html>
    ).toString()
  );
}
