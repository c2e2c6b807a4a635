import type { ContainerInfo } from "../inventory/types.js";

/** A container that runs a DNS server (resolver, forwarder) itself: its own lookups are its clients'. */
export const LABEL_DNS_SERVER = "netmon.dns-server";

/**
 * Whether the container's labels say it runs a DNS server: exactly "true" (case and surrounding
 * blanks aside), set on the container, not inherited from its image. Labels are hostile input and
 * this one loosens detection (dns-abuse skips the container), so anything else means no: an image
 * may not exempt its own traffic, and "yes", "1" or "true,false" are not read as true.
 */
export function runsDnsServer(info: ContainerInfo | undefined): boolean {
  const value = info?.labels[LABEL_DNS_SERVER];
  if (value === undefined || value.length > 16 || value.trim().toLowerCase() !== "true") return false;
  return info?.imageLabels?.[LABEL_DNS_SERVER] !== value;
}
