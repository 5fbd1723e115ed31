// What a container gets from its image when its create did not say (Cmd, Entrypoint, Env…): Docker's
// ps and inspect show the merged result. Read from the image config in S3: by the container's
// manifest digest when recorded, else by its tag in Berth's registry. Once per image per request;
// unknown (undefined) when it cannot be read, e.g. an upstream image.
import { listTaggedImages } from '../../db/queries/docker-images';
import type { Container } from '../../db/schema';
import { registryHost } from '../api/app-address';
import type { ContainerConfig } from '../core/oci/types';
import type { Platform } from '../platform';
import { readStoredImage } from './image-config';

export type ImageDefaults = (ctr: Pick<Container, 'manifestDigest' | 'imageRef'>) => Promise<ContainerConfig | undefined>;

export function createImageDefaults(platform: Platform, accountIds: string[]): ImageDefaults {
  const byDigest = new Map<string, Promise<ContainerConfig | undefined>>();
  const byRef = new Map<string, Promise<string | undefined>>();
  const prefix = `${registryHost(platform)}/`;
  const digestOf = (ref: string): Promise<string | undefined> => {
    if (!ref.startsWith(prefix)) return Promise.resolve(undefined);
    const rest = ref.slice(prefix.length);
    const colon = rest.lastIndexOf(':');
    if (colon < 0) return Promise.resolve(undefined);
    let p = byRef.get(ref);
    if (!p) {
      p = listTaggedImages(platform.db, accountIds, rest.slice(0, colon)).then((rows) => rows.find((r) => r.tag === rest.slice(colon + 1))?.digest);
      byRef.set(ref, p);
    }
    return p;
  };
  return async (ctr) => {
    const digest = ctr.manifestDigest ?? (await digestOf(ctr.imageRef));
    if (!digest) return undefined;
    let p = byDigest.get(digest);
    if (!p) {
      p = readStoredImage(platform, digest).then(
        (s) => s.config.config ?? {},
        () => undefined,
      );
      byDigest.set(digest, p);
    }
    return p;
  };
}
