import { z } from "zod";

/**
 * A workload's mode, global and per container: learn (build a baseline, no alerts), monitor
 * (alerts), enforce (alerts + blocking), off.
 */
export const modeSchema = z.enum(["learn", "monitor", "enforce", "off"]);
export type Mode = z.infer<typeof modeSchema>;
