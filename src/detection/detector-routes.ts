import type { DetectorModule, EventRoute } from "../model/detector-api.js";
import type { ConnectionState, NetmonEvent } from "../model/events.js";

const CONNECTION_STATES: readonly ConnectionState[] = [
  "attempt",
  "accepted",
  "rejected",
  "unanswered",
  "closed",
];

/**
 * Which detectors each kind of event goes to: most detectors read one or two kinds of the events
 * (beaconing only closed connections, dns-abuse only DNS responses), and calling every detector on
 * every event, to return at its first line, was a large share of replay. A detector that declares
 * nothing (DetectorModule.reads) gets every event. Each list keeps the detectors' own order, so
 * findings reach the alert manager in the same order as when every detector saw every event.
 */
export class DetectorRoutes<D> {
  constructor(
    private readonly dns: readonly D[],
    private readonly listener: readonly D[],
    private readonly connection: Readonly<Record<ConnectionState, readonly D[]>>,
  ) {}

  of(ev: NetmonEvent): readonly D[] {
    if (ev.kind === "connection") return this.connection[ev.state];
    return ev.kind === "dns" ? this.dns : this.listener;
  }
}

/** The routes of `running[i]`, made from `modules[i]` (the same order: Detection builds one from the other). */
export function routeDetectors<D>(
  modules: readonly DetectorModule[],
  running: readonly D[],
): DetectorRoutes<D> {
  const readers = (route: EventRoute): D[] =>
    running.filter((_, i) => {
      const reads = modules[i]?.reads;
      return reads === undefined || reads.includes(route);
    });
  const connection = Object.fromEntries(
    CONNECTION_STATES.map((state) => [state, readers(`connection:${state}`)]),
  ) as Record<ConnectionState, D[]>;
  return new DetectorRoutes(readers("dns"), readers("listener"), connection);
}
