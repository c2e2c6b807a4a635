import { z } from "zod";

/** The fields of a Docker event we act on; anything else in the stream is ignored. */
const dockerEventSchema = z.looseObject({
  Type: z.string().max(32),
  Action: z.string().max(256),
  Actor: z
    .looseObject({
      ID: z.string().max(128).nullish(),
      Attributes: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
  time: z.number().nullish(),
  timeNano: z.number().nullish(),
});

export interface DockerEvent {
  type: string;
  /** The action, without the ": command" suffix Docker adds to exec events. */
  action: string;
  actorId: string;
  attributes: Record<string, string>;
  /** Epoch ms. */
  atMs: number;
}

export function parseDockerEvent(raw: unknown, nowMs: number): DockerEvent | null {
  const parsed = dockerEventSchema.safeParse(raw);
  if (!parsed.success) return null;
  const e = parsed.data;
  const atMs = e.timeNano ? e.timeNano / 1e6 : e.time ? e.time * 1000 : nowMs;
  return {
    type: e.Type,
    action: e.Action.split(":")[0]!.trim(),
    actorId: e.Actor?.ID ?? "",
    attributes: e.Actor?.Attributes ?? {},
    atMs,
  };
}
