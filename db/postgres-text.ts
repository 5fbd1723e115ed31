// Postgres text cannot hold a NUL character: a value with one fails the whole statement ("invalid
// byte sequence for encoding UTF8: 0x00"). Text that comes from users or their programs (a RUN's
// output, an error quoting a Dockerfile) goes through this before it is stored.
export function toPostgresText(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
}
