import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The native session of npm `pcap`, used directly: its JS wrapper allocates an object per packet. */
export interface NativePcapSession {
  open_live(
    device: string,
    filter: string,
    bufferSize: number,
    snapLength: number,
    outfile: string,
    onPacket: () => void,
    monitor: boolean,
    bufferTimeout: number,
    warningHandler: (msg: string) => void,
    promiscuous: boolean,
  ): string;
  dispatch(buf: Buffer, header: Buffer): number;
  start_polling(): void;
  close(): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  read_callback?: () => void;
}

interface PcapBinding {
  PcapSession: new () => NativePcapSession;
  lib_version(): string;
}

let binding: PcapBinding | null = null;

/** Loads the addon lazily, so commands that never capture (replay, check-config) do not need it. */
export function loadPcapBinding(): PcapBinding {
  if (binding === null) {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve("pcap/package.json"));
    binding = require(join(root, "build", "Release", "pcap_binding.node")) as PcapBinding;
  }
  return binding;
}
