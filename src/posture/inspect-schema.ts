import { z } from "zod";

/**
 * The security-relevant fields of `docker inspect` (container), checked like the rest of the
 * inspect answer (see src/inventory/parse-inspect.ts): only the fields the posture checks read,
 * each bounded. A seccomp profile given inline arrives whole in HostConfig.SecurityOpt, so those
 * items may be long; only their start is kept.
 */

const MAX_ITEMS = 256;
const optStr = (max: number) => z.string().max(max).nullish();
const strList = (max: number) => z.array(z.string().max(max)).max(MAX_ITEMS).nullish();

const mountSchema = z.looseObject({
  Type: optStr(64),
  Source: optStr(4096),
  Destination: optStr(4096),
  RW: z.boolean().nullish(),
});

export const securityInspectSchema = z.looseObject({
  Id: z.string().regex(/^[0-9a-f]{12,64}$/, "must be a hex container id"),
  AppArmorProfile: optStr(256),
  Config: z.looseObject({ User: optStr(256) }).nullish(),
  HostConfig: z
    .looseObject({
      Privileged: z.boolean().nullish(),
      CapAdd: strList(64),
      CapDrop: strList(64),
      SecurityOpt: strList(4 * 1024 * 1024),
      ReadonlyRootfs: z.boolean().nullish(),
      NetworkMode: optStr(256),
      PidMode: optStr(256),
      UsernsMode: optStr(256),
    })
    .nullish(),
  Mounts: z.array(mountSchema).max(MAX_ITEMS).nullish(),
});

export interface MountFacts {
  type: string;
  source: string;
  destination: string;
  rw: boolean;
}

/** The security configuration of one container, normalised. */
export interface SecurityFacts {
  /** Config.User as given ("" = the image default, root unless the image set USER). */
  user: string;
  privileged: boolean;
  /** Upper case, without the CAP_ prefix ("NET_ADMIN", "ALL"). */
  capAdd: string[];
  capDrop: string[];
  /** HostConfig.SecurityOpt items, each cut to 256 characters (an inline seccomp profile is long). */
  securityOpt: string[];
  /** "" when no profile applies (host without AppArmor, or privileged), "unconfined", "docker-default", … */
  appArmorProfile: string;
  readonlyRootfs: boolean;
  networkMode: string;
  pidMode: string;
  usernsMode: string;
  mounts: MountFacts[];
}

/** "cap_net_admin" / "CAP_NET_ADMIN" / "net_admin" → "NET_ADMIN". */
export function normalizeCapability(text: string): string {
  return text.trim().toUpperCase().replace(/^CAP_/, "");
}

export function parseSecurityFacts(
  raw: unknown,
): { ok: true; value: SecurityFacts } | { ok: false; error: string } {
  const parsed = securityInspectSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${issue.path.join(".") || "(object)"}: ${issue.message}` };
  }
  const c = parsed.data;
  const hc = c.HostConfig ?? {};
  return {
    ok: true,
    value: {
      user: (c.Config?.User ?? "").trim(),
      privileged: hc.Privileged === true,
      capAdd: (hc.CapAdd ?? []).map(normalizeCapability),
      capDrop: (hc.CapDrop ?? []).map(normalizeCapability),
      securityOpt: (hc.SecurityOpt ?? []).map((s) => s.slice(0, 256)),
      appArmorProfile: c.AppArmorProfile ?? "",
      readonlyRootfs: hc.ReadonlyRootfs === true,
      networkMode: hc.NetworkMode ?? "",
      pidMode: hc.PidMode ?? "",
      usernsMode: hc.UsernsMode ?? "",
      mounts: (c.Mounts ?? []).map((m) => ({
        type: m.Type ?? "",
        source: m.Source ?? "",
        destination: m.Destination ?? "",
        rw: m.RW !== false,
      })),
    },
  };
}

/** What the daemon says about itself (`docker info` SecurityOptions): what a container can be confined by. */
export interface HostSecurity {
  apparmor: boolean;
  seccomp: boolean;
  selinux: boolean;
  /** userns-remap or rootless: uid 0 in a container is not uid 0 on the host. */
  userns: boolean;
}

const infoSchema = z.looseObject({ SecurityOptions: z.array(z.string().max(1024)).max(64).nullish() });

/** Reads `docker info`; unknown or unreadable answers mean "nothing available". */
export function parseHostSecurity(raw: unknown): HostSecurity {
  const parsed = infoSchema.safeParse(raw);
  const opts = parsed.success ? (parsed.data.SecurityOptions ?? []) : [];
  // Items look like "name=seccomp,profile=default", "name=apparmor", "name=userns", "name=rootless".
  const names = new Set(
    opts.map((o) => /(?:^|,)name=([a-z0-9_-]+)/.exec(o)?.[1] ?? "").filter((n) => n !== ""),
  );
  return {
    apparmor: names.has("apparmor"),
    seccomp: names.has("seccomp"),
    selinux: names.has("selinux"),
    userns: names.has("userns") || names.has("rootless"),
  };
}

/** A Docker network as the internal-network check needs it. */
export interface NetworkFacts {
  id: string;
  name: string;
  driver: string;
  internal: boolean;
  subnets: string[];
}

const networkSchema = z.looseObject({
  Id: z.string().regex(/^[0-9a-f]{12,64}$/),
  Name: z.string().max(256),
  Driver: optStr(64),
  Internal: z.boolean().nullish(),
  IPAM: z
    .looseObject({
      Config: z
        .array(z.looseObject({ Subnet: optStr(64) }))
        .max(MAX_ITEMS)
        .nullish(),
    })
    .nullish(),
});

/** The networks of `docker network ls` (API list); unreadable entries are left out. */
export function parseNetworks(raw: unknown): NetworkFacts[] {
  if (!Array.isArray(raw)) return [];
  const out: NetworkFacts[] = [];
  for (const item of raw) {
    const parsed = networkSchema.safeParse(item);
    if (!parsed.success) continue;
    const n = parsed.data;
    out.push({
      id: n.Id,
      name: n.Name,
      driver: n.Driver ?? "",
      internal: n.Internal === true,
      subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? "").filter((s) => s !== ""),
    });
  }
  return out;
}
