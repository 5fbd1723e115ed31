// Every container and every RUN gets a user namespace: container uid/gid N is host uid/gid
// hostBase + N. Layers in the runner's local store are unpacked already shifted by hostBase, so an
// overlay of them needs no idmapped mounts; files a RUN creates land in the upper dir shifted too, and
// the layer writer subtracts hostBase again.
export interface IdMap {
  hostBase: number;
  size: number;
}

export const DEFAULT_IDMAP: IdMap = { hostBase: 100_000, size: 65_536 };

export function toHostId(map: IdMap, containerId: number): number {
  if (containerId < 0 || containerId >= map.size) throw new RangeError(`Cannot map id ${containerId}: outside 0..${map.size - 1}`);
  return map.hostBase + containerId;
}

/** The container id of a host id in the mapped range; ids outside it become the overflow id 65534. */
export function toContainerId(map: IdMap, hostId: number): number {
  const id = hostId - map.hostBase;
  return id >= 0 && id < map.size ? id : 65534;
}
