/** One tally crossing its threshold: distinct ports on one host, or distinct hosts on one port. */
export interface TallyHit {
  shape: "port-scan" | "host-scan";
  /** The host (port-scan) or the port key (host-scan) the targets share. */
  ip: string;
  portKey: number;
  count: number;
  /** Up to `samples` of the counted targets, as [ip, portKey]. */
  targets: [string, number][];
  /** Event time of the latest counted target. */
  lastTs: number;
}

/**
 * Distinct (ip, port) targets of one container over a long window, for slow scans: tallied per host
 * and per port, checked now and then (not per event), and bounded (`max` targets; beyond it new
 * targets are not tallied and counted in `dropped`). Event time only.
 */
export class TargetTally {
  private readonly byIp = new Map<string, Map<number, number>>();
  private readonly byPort = new Map<number, Map<string, number>>();
  size = 0;
  dropped = 0;

  constructor(private readonly max: number) {}

  note(ip: string, portKey: number, ts: number): void {
    let ports = this.byIp.get(ip);
    const seen = ports?.get(portKey);
    if (seen === undefined) {
      if (this.size >= this.max) {
        this.dropped++;
        return;
      }
      this.size++;
    } else if (seen >= ts) return;
    if (ports === undefined) {
      ports = new Map();
      this.byIp.set(ip, ports);
    }
    ports.set(portKey, ts);
    let hosts = this.byPort.get(portKey);
    if (hosts === undefined) {
      hosts = new Map();
      this.byPort.set(portKey, hosts);
    }
    hosts.set(ip, ts);
  }

  /** Forgets every target on `ip` (a fast scan of it was just reported). */
  forgetHost(ip: string): void {
    const ports = this.byIp.get(ip);
    if (ports === undefined) return;
    for (const portKey of ports.keys()) this.remove(ip, portKey);
  }

  /** Forgets every target on `portKey` (a fast sweep of it was just reported). */
  forgetPort(portKey: number): void {
    const hosts = this.byPort.get(portKey);
    if (hosts === undefined) return;
    for (const ip of hosts.keys()) this.remove(ip, portKey);
  }

  /**
   * Drops targets last seen before `from`, then reports each host with at least `portThreshold`
   * distinct ports and each port with at least `hostThreshold` distinct hosts among targets seen
   * before `until` (0 disables a shape). Reported targets are forgotten, so a scan that goes on is
   * reported again once it has added as many new targets.
   */
  check(
    from: number,
    until: number,
    portThreshold: number,
    hostThreshold: number,
    samples: number,
  ): TallyHit[] {
    const hits: TallyHit[] = [];
    for (const [ip, ports] of this.byIp) {
      for (const [portKey, ts] of ports) if (ts < from) this.remove(ip, portKey);
    }
    const collect = (
      shape: TallyHit["shape"],
      groups: Map<string, Map<number, number>> | Map<number, Map<string, number>>,
      threshold: number,
    ) => {
      if (threshold <= 0) return;
      for (const [group, members] of groups as Map<string | number, Map<string | number, number>>) {
        let count = 0;
        let lastTs = Number.NEGATIVE_INFINITY;
        for (const ts of members.values()) {
          if (ts >= until) continue;
          count++;
          if (ts > lastTs) lastTs = ts;
        }
        if (count < threshold) continue;
        const targets: [string, number][] = [];
        for (const [member, ts] of members) {
          if (ts >= until) continue;
          const ip = shape === "port-scan" ? (group as string) : (member as string);
          const portKey = shape === "port-scan" ? (member as number) : (group as number);
          if (targets.length < samples) targets.push([ip, portKey]);
        }
        const [ip0, port0] = targets.at(-1)!;
        hits.push({ shape, ip: ip0, portKey: port0, count, targets, lastTs });
      }
    };
    collect("port-scan", this.byIp, portThreshold);
    collect("host-scan", this.byPort, hostThreshold);
    for (const hit of hits) {
      if (hit.shape === "port-scan") this.forgetHostBefore(hit.ip, until);
      else this.forgetPortBefore(hit.portKey, until);
    }
    return hits;
  }

  private forgetHostBefore(ip: string, until: number): void {
    for (const [portKey, ts] of this.byIp.get(ip) ?? []) if (ts < until) this.remove(ip, portKey);
  }

  private forgetPortBefore(portKey: number, until: number): void {
    for (const [ip, ts] of this.byPort.get(portKey) ?? []) if (ts < until) this.remove(ip, portKey);
  }

  private remove(ip: string, portKey: number): void {
    const ports = this.byIp.get(ip);
    if (ports?.delete(portKey) !== true) return;
    this.size--;
    if (ports.size === 0) this.byIp.delete(ip);
    const hosts = this.byPort.get(portKey);
    hosts?.delete(ip);
    if (hosts?.size === 0) this.byPort.delete(portKey);
  }
}
