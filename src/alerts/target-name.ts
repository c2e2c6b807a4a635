import type { AllowedBy } from "../model/verdict.js";

/**
 * How an alert names a host: by the container or DNS name netmon knows, with the IP in brackets
 * ("trial-db [172.20.0.3]"), never by the IP alone when a name is known; an IPv6 address alone is
 * bracketed so a port can follow it ("[2001:db8::1]").
 */
export function namedHost(ip: string, name?: string | null): string {
  if (name !== undefined && name !== null && name !== "" && name !== ip) return `${name} [${ip}]`;
  return ip.includes(":") ? `[${ip}]` : ip;
}

/** "trial-db [172.20.0.3]:5432/tcp", "api.example.com [2001:db8::1]:443/tcp", "[2001:db8::1]:443/tcp". */
export function namedEndpoint(ip: string, port: number, proto: string, name?: string | null): string {
  return `${namedHost(ip, name)}:${port}/${proto}`;
}

/** What allowed a connection, in words for a summary ("nothing" when nothing did). */
export function allowedByWords(by: AllowedBy): string {
  switch (by) {
    case null:
      return "nothing";
    case "config":
      return "a policy.egress or policy.workloads rule";
    case "label":
      return "its netmon.egress label";
    case "dns-name":
      return "a host-name rule matching a name it resolved";
    case "dns-resolver":
      return "the DNS resolver exception";
    case "baseline":
      return "the learned baseline only";
    case "declared":
      return "the image or the container's declared ports";
  }
}
