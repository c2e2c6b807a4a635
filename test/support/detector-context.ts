import { RateProfiles } from "../../src/counting/rate-profiles.js";
import type { DetectorContext } from "../../src/model/detector-api.js";

/**
 * A stand-in for the Policy a detector consults: the workload is the container name, every
 * container monitors, no destination and no listening port is allowed; a rate-profile store of its own,
 * as the engine gives. `o` replaces any answer.
 */
export function fakeDetectorContext(o: Partial<DetectorContext> = {}): DetectorContext {
  return {
    workloadOf: (c) => c.name,
    modeOf: () => "monitor",
    egress: () => ({ allowedBy: null, denylisted: false }),
    listenAllowed: () => null,
    rateProfiles: new RateProfiles(),
    ...o,
  };
}
