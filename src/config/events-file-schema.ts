import { z } from "zod";
import { doc } from "../model/config-meta.js";

/**
 * `log.eventsFile:` where the event lines of `log.events` (or `run --log-events`) go: the log
 * stream (stdout, the default) or a file of their own, rotated by size, for a log pipeline to tail.
 */
export const eventsFileSchema = z
  .strictObject({
    path: doc(
      z.string().min(1).nullable().default(null),
      "With log.events on: write the event lines to this file (one JSON object a line, rotated by size) instead of the log stream; null = the log stream.",
    ),
    maxBytes: doc(
      z.number().int().min(65_536).max(1_099_511_627_776).default(52_428_800),
      "Size (bytes) at which the file is rotated: FILE becomes FILE.1, FILE.1 becomes FILE.2, and so on. A line is never split across files.",
    ),
    maxFiles: doc(
      z.number().int().min(2).max(1000).default(5),
      "Files kept, counting the one written: disk use stays under maxFiles × maxBytes; the oldest is deleted at a rotation.",
    ),
  })
  .prefault({});

export type EventsFileConfig = z.output<typeof eventsFileSchema>;
