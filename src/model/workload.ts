import type { ContainerRef } from "./events.js";

/**
 * The repository part of an image reference: no tag, no digest ("registry:5000/app:1.2@sha256:…"
 * → "registry:5000/app"). Null for a bare image id, which names no workload.
 */
export function imageRepository(image: string): string | null {
  if (image === "" || /^(sha256:)?[0-9a-f]{12,64}$/.test(image)) return null;
  let ref = image;
  const at = ref.indexOf("@");
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) ref = ref.slice(0, colon);
  return ref || null;
}

/**
 * Workload identity, which policy and baselines attach to so that a restart or a scaled replica
 * keeps them: Compose project/service, else the image repository, else the container name.
 */
export function workloadOf(ref: ContainerRef): string {
  if (ref.project && ref.service) return `${ref.project}/${ref.service}`;
  return imageRepository(ref.image) ?? ref.name;
}
