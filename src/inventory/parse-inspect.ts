import { z } from "zod";
import { normalizeIp } from "../net/ip-format.js";
import type { ContainerInfo, NetworkAttachment, PublishedPort } from "./types.js";

/**
 * Docker API answers (and `docker inspect` files given to replay) are input from outside: an image
 * can set labels, a compromised daemon or a hand-edited file can say anything. Only the fields we
 * use are read, each checked and bounded; a container that fails the check is rejected with the
 * reason, never half-trusted.
 */

const MAX_LABELS = 512;
const MAX_LABEL_KEY = 256;
const MAX_LABEL_VALUE = 4096;
const MAX_NETWORKS = 64;

const str = (max: number) => z.string().max(max);
const optStr = (max: number) => z.string().max(max).nullish();

const endpointSchema = z.looseObject({
  NetworkID: optStr(128),
  IPAddress: optStr(64),
  GlobalIPv6Address: optStr(64),
  MacAddress: optStr(64),
  Gateway: optStr(64),
});

const portBindingSchema = z.looseObject({ HostIp: optStr(64), HostPort: optStr(8) });

/** A container id as the Docker API gives it (anything else is never sent back to it). */
export const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

/** The id of an entry of GET /containers/json, when it has a well-formed one. */
export function containerIdOf(summary: unknown): string | null {
  const id = typeof summary === "object" && summary !== null ? (summary as { Id?: unknown }).Id : undefined;
  return typeof id === "string" && CONTAINER_ID.test(id) ? id : null;
}

export const containerInspectSchema = z.looseObject({
  Id: z.string().regex(CONTAINER_ID, "must be a hex container id"),
  Name: optStr(256),
  Image: optStr(256),
  Config: z
    .looseObject({
      Image: optStr(512),
      Labels: z.record(z.string(), z.string()).nullish(),
      ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
    })
    .nullish(),
  HostConfig: z.looseObject({ NetworkMode: optStr(256) }).nullish(),
  State: z
    .looseObject({
      Running: z.boolean().nullish(),
      Pid: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31)
        .nullish(),
      StartedAt: optStr(64),
      FinishedAt: optStr(64),
    })
    .nullish(),
  NetworkSettings: z
    .looseObject({
      Networks: z.record(z.string().max(256), endpointSchema).nullish(),
      Ports: z.record(z.string(), z.array(portBindingSchema).nullish()).nullish(),
    })
    .nullish(),
});

export type ContainerInspect = z.infer<typeof containerInspectSchema>;

export const networkInspectSchema = z.looseObject({
  Id: z.string().regex(CONTAINER_ID),
  Name: str(256),
  Driver: optStr(64),
  Options: z.record(z.string(), z.string()).nullish(),
});

export type NetworkInspect = z.infer<typeof networkInspectSchema>;

/** `docker image inspect` output: only the id and the labels matter here. */
export const imageInspectSchema = z.looseObject({
  Id: z.string().max(128),
  Config: z.looseObject({ Labels: z.record(z.string(), z.string()).nullish() }).nullish(),
});

/** The labels of an image inspect object, or null when it is not one we can read. */
export function imageLabelsOf(raw: unknown): { id: string; labels: Record<string, string> } | null {
  const parsed = imageInspectSchema.safeParse(raw);
  if (!parsed.success) return null;
  return { id: parsed.data.Id, labels: parsed.data.Config?.Labels ?? {} };
}

/** Host interface of a bridge network: the bridge.name option, docker0 for "bridge", else br-<12 hex>. */
export function bridgeInterfaceOf(net: NetworkInspect): string | null {
  if ((net.Driver ?? "bridge") !== "bridge") return null;
  const named = net.Options?.["com.docker.network.bridge.name"];
  if (named !== undefined && /^[A-Za-z0-9_.-]{1,15}$/.test(named)) return named;
  if (net.Name === "bridge") return "docker0";
  return `br-${net.Id.slice(0, 12)}`;
}

export type ParseResult<T> = { ok: true; value: T; warnings: string[] } | { ok: false; error: string };

const isPort = (n: number): boolean => Number.isInteger(n) && n > 0 && n < 65536;

/** Epoch ms of a Docker time string; Docker's zero time ("0001-01-01T00:00:00Z") and junk give 0. */
function parseDockerTime(text: string | null | undefined): number {
  if (!text) return 0;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function cleanLabels(
  raw: Record<string, string> | null | undefined,
  warnings: string[],
): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!raw) return labels;
  let count = 0;
  for (const [key, value] of Object.entries(raw)) {
    if (count >= MAX_LABELS) {
      warnings.push(`more than ${MAX_LABELS} labels: the rest are ignored`);
      break;
    }
    if (key.length > MAX_LABEL_KEY || value.length > MAX_LABEL_VALUE) {
      warnings.push(`label ${JSON.stringify(key.slice(0, 64))} is too long and is ignored`);
      continue;
    }
    labels[key] = value;
    count++;
  }
  return labels;
}

/**
 * Checks one container inspect object. `bridges` maps network id → host bridge interface (from the
 * network list); a network we have not seen gets the bridge derived from its name/id when possible.
 */
export function parseContainerInspect(
  raw: unknown,
  bridges: ReadonlyMap<string, string | null>,
): ParseResult<ContainerInfo> {
  const parsed = containerInspectSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${issue.path.join(".") || "(object)"}: ${issue.message}` };
  }
  const c = parsed.data;
  const warnings: string[] = [];
  const labels = cleanLabels(c.Config?.Labels, warnings);
  const networks: NetworkAttachment[] = [];
  for (const [name, ep] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
    if (networks.length >= MAX_NETWORKS) {
      warnings.push(`more than ${MAX_NETWORKS} networks: the rest are ignored`);
      break;
    }
    const networkId = ep.NetworkID ?? "";
    const ipv4 = ep.IPAddress ? normalizeIp(ep.IPAddress) : null;
    const ipv6 = ep.GlobalIPv6Address ? normalizeIp(ep.GlobalIPv6Address) : null;
    if (ep.IPAddress && ipv4 === null)
      warnings.push(`network ${name}: invalid IPAddress ${JSON.stringify(ep.IPAddress)}`);
    if (ep.GlobalIPv6Address && ipv6 === null)
      warnings.push(`network ${name}: invalid GlobalIPv6Address ${JSON.stringify(ep.GlobalIPv6Address)}`);
    let bridge = bridges.get(networkId);
    if (bridge === undefined) {
      bridge =
        name === "bridge"
          ? "docker0"
          : /^[0-9a-f]{12,64}$/.test(networkId)
            ? `br-${networkId.slice(0, 12)}`
            : null;
    }
    networks.push({
      networkName: name,
      networkId,
      ipv4,
      ipv6,
      mac: ep.MacAddress || null,
      gateway: ep.Gateway ? normalizeIp(ep.Gateway) : null,
      bridge,
    });
  }
  const publishedPorts: PublishedPort[] = [];
  for (const [spec, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    const m = /^(\d{1,5})\/(tcp|udp|sctp)$/.exec(spec);
    if (!m || !bindings || !isPort(Number(m[1]))) continue;
    for (const b of bindings) {
      const hostPort = Number(b.HostPort);
      if (isPort(hostPort)) {
        publishedPorts.push({ containerPort: Number(m[1]), proto: m[2]!, hostIp: b.HostIp ?? "", hostPort });
      }
    }
  }
  const exposedPorts = Object.keys(c.Config?.ExposedPorts ?? {})
    .filter((p) => /^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p) && isPort(Number.parseInt(p, 10)))
    .slice(0, 1024);
  const running = c.State?.Running === true;
  const name = (c.Name ?? "").replace(/^\//, "") || c.Id.slice(0, 12);
  return {
    ok: true,
    warnings,
    value: {
      ref: {
        id: c.Id,
        name,
        image: c.Config?.Image ?? c.Image ?? "",
        service: labels["com.docker.compose.service"] ?? null,
        project: labels["com.docker.compose.project"] ?? null,
      },
      imageId: c.Image ?? "",
      labels,
      imageLabels: null,
      networks,
      pid: running ? (c.State?.Pid ?? 0) : 0,
      exposedPorts,
      publishedPorts,
      startedAt: parseDockerTime(c.State?.StartedAt),
      finishedAt: running ? null : parseDockerTime(c.State?.FinishedAt) || null,
      running,
      networkMode: c.HostConfig?.NetworkMode ?? "",
    },
  };
}
