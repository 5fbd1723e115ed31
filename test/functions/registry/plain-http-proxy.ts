// A TCP proxy that refuses TLS at once. skopeo with tls-verify=false tries https before http, and
// workerd holds a TLS hello open until skopeo gives up (~10 s); closing it makes skopeo fall back.
import { connect, createServer, type AddressInfo, type Server } from 'node:net';

export async function startPlainHttpProxy(target: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((client) => {
    client.once('data', (first: Buffer) => {
      if (first[0] === 0x16) return client.destroy(); // a TLS handshake record
      client.pause(); // hold later chunks until the upstream is connected and piped
      const upstream = connect(target.port, target.host, () => {
        upstream.write(first);
        client.pipe(upstream).pipe(client);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
