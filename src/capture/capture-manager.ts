import type { Logger } from "../util/logger.js";
import { LiveCapture, type LiveCaptureOptions } from "./live-capture.js";
import { addStats, type CaptureStats, type RawPacketHandler } from "./source.js";

/**
 * One live capture per wanted interface, opened and closed as Docker networks come and go.
 * An interface that cannot be opened is retried at the next reconcile and logged once per reason.
 */
export class CaptureManager {
  private readonly sessions = new Map<string, LiveCapture>();
  private readonly failures = new Map<string, string>();
  /** Totals of sessions already closed, so counters never go backwards. */
  private readonly retired = new Map<string, CaptureStats>();

  constructor(
    private readonly opts: LiveCaptureOptions,
    private readonly handlerFor: (iface: string) => RawPacketHandler,
    private readonly log: Logger,
  ) {}

  /** Makes the open sessions match `wanted`. Returns the interfaces that failed to open. */
  reconcile(wanted: Iterable<string>): string[] {
    const want = new Set(wanted);
    for (const [iface, session] of this.sessions) {
      if (want.has(iface) && session.isOpen) continue;
      this.retire(iface, session);
      if (!want.has(iface)) this.log.info({ iface }, "capture stopped");
    }
    const failed: string[] = [];
    for (const iface of want) {
      if (this.sessions.has(iface)) continue;
      const session = new LiveCapture(
        iface,
        this.opts,
        this.handlerFor(iface),
        (message) => this.log.warn({ iface }, message),
        (message) => this.log.debug({ iface, warning: message }, "libpcap warning"),
      );
      try {
        session.open();
        this.sessions.set(iface, session);
        this.failures.delete(iface);
        this.log.info({ iface }, "capture started");
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (this.failures.get(iface) !== message) this.log.error({ iface }, message);
        this.failures.set(iface, message);
        failed.push(iface);
      }
    }
    for (const iface of this.failures.keys()) if (!want.has(iface)) this.failures.delete(iface);
    return failed;
  }

  /** Opens `ifaces` right now or throws the first failure (start-up of a fixed interface list). */
  openOrThrow(ifaces: string[]): void {
    const failed = this.reconcile(ifaces);
    if (failed.length > 0) throw new Error(this.failures.get(failed[0]!) ?? `cannot capture on ${failed[0]}`);
  }

  interfaces(): string[] {
    return [...this.sessions.keys()];
  }

  /** Packets captured on any interface and not yet handed to the pipeline. */
  backlog(): number {
    let n = 0;
    for (const session of this.sessions.values()) n += session.backlog;
    return n;
  }

  /** True when every wanted interface has a running session. */
  healthy(): boolean {
    return this.failures.size === 0;
  }

  stats(): CaptureStats[] {
    const out = new Map<string, CaptureStats>();
    for (const [iface, s] of this.retired) out.set(iface, { ...s });
    for (const [iface, session] of this.sessions) {
      const live = session.stats();
      const prev = out.get(iface);
      out.set(iface, prev ? addStats(prev, live) : live);
    }
    return [...out.values()];
  }

  closeAll(): void {
    for (const [iface, session] of this.sessions) this.retire(iface, session);
  }

  private retire(iface: string, session: LiveCapture): void {
    const s = session.stats();
    session.close();
    this.sessions.delete(iface);
    const prev = this.retired.get(iface);
    this.retired.set(iface, prev ? addStats(prev, s) : s);
  }
}
