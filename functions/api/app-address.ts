import type { Platform } from '../platform';

/**
 * Where an app is reached: https://<name>.<apps domain> when one is configured; otherwise a subdomain
 * of the public URL's host, with `localhost` standing in for a bare IP (browsers resolve
 * *.localhost to loopback), so the local stack's apps are http://<name>.localhost:8080.
 */
export function appAddress(platform: Pick<Platform, 'publicUrl' | 'appsDomain'>, name: string): string {
  if (platform.appsDomain) return `https://${name}.${platform.appsDomain}`;
  const url = new URL(platform.publicUrl ?? 'http://127.0.0.1:8080');
  const host = /^[\d.]+$|^\[/.test(url.hostname) || url.hostname === 'localhost' ? 'localhost' : url.hostname;
  return `${url.protocol}//${name}.${host}${url.port ? `:${url.port}` : ''}`;
}

/** host:port of Berth's registry, the first part of every image reference it builds. */
export function registryHost(platform: Pick<Platform, 'publicUrl'>): string {
  return new URL(platform.publicUrl ?? 'http://127.0.0.1:8080').host;
}

/**
 * An image reference as users pull it. The Builder records references in Berth's own registry
 * without the host (`alice/web:latest`); those get this deployment's registry host in front.
 */
export function pullableImageRef(platform: Pick<Platform, 'publicUrl'>, ref: string | null): string | null {
  if (!ref) return ref;
  const first = ref.split('/')[0]!;
  const hasHost = ref.includes('/') && (first === 'localhost' || first.includes('.') || first.includes(':'));
  return hasHost ? ref : `${registryHost(platform)}/${ref}`;
}
