import type { DetectorModule } from "../src/model/detector-api.js";
import { beaconing } from "./beaconing.js";
import { connectionBurst } from "./connection-burst.js";
import { dnsAbuse } from "./dns-abuse.js";
import { unexpectedOutbound } from "./unexpected-outbound.js";
import { unusualListener } from "./unusual-listener.js";

/** Every detector, explicitly: no side-effect registration. Config keys under `detectors:` are these names. */
export const DETECTORS = [
  unexpectedOutbound,
  connectionBurst,
  unusualListener,
  beaconing,
  dnsAbuse,
] as const satisfies readonly DetectorModule[];
