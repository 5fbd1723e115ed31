// Every container and every RUN gets a user namespace: container uid/gid N is host uid/gid
// hostBase + N. Layers in the runner's local store are unpacked already shifted by hostBase, so an
// overlay of them needs no idmapped mounts; files a RUN creates land in the upper dir shifted too, and
// the layer writer subtracts hostBase again.
export interface IdMap {
  hostBase: number;
  size: number;
}

/**
 * Every id a Linux file can have (up to 2^32 - 2 on the host), not just 65536: images own files by
 * uids such as 100000 or OpenShift's 1000680000, and Docker builds and runs them. Host ids from
 * hostBase up must therefore belong to no host user, as on a dedicated runner.
 */
export const DEFAULT_IDMAP: IdMap = { hostBase: 100_000, size: 4_294_967_295 - 100_000 };

export function toHostId(map: IdMap, containerId: number): number {
  if (containerId < 0 || containerId >= map.size) throw new RangeError(`Cannot map id ${containerId}: outside 0..${map.size - 1}`);
  return map.hostBase + containerId;
}

/** The container id of a host id in the mapped range; ids outside it become the overflow id 65534. */
export function toContainerId(map: IdMap, hostId: number): number {
  const id = hostId - map.hostBase;
  return id >= 0 && id < map.size ? id : 65534;
}
