import { describe, expect, it } from "vitest";
import { BlockRateLimit, NeverBlock } from "../../src/block/safety.js";
import type { BlockEntry } from "../../src/block/types.js";

const T0 = 1_700_000_000_000;
const MIN = 60_000;

const dst = (src: string, d: string, port = 443): BlockEntry => ({
  scope: "destination",
  family: d.includes(":") ? 6 : 4,
  src,
  proto: "tcp",
  port,
  dst: d,
});
const quar = (src: string): BlockEntry => ({ scope: "container", family: src.includes(":") ? 6 : 4, src });

describe("NeverBlock", () => {
  const cases: [why: string, entry: BlockEntry, refusedIp: string | null][] = [
    // Loopback is built in: a block there could cut the host's own services.
    ["IPv4 loopback destination", dst("172.18.0.2", "127.0.0.1"), "127.0.0.1"],
    // The whole 127/8, not only .1.
    ["IPv4 loopback anywhere in 127/8", dst("172.18.0.2", "127.255.255.254"), "127.255.255.254"],
    // IPv6 loopback is built in too.
    ["IPv6 loopback destination", dst("fd00::2", "::1"), "::1"],
    // IPv6 in another text form is the same address.
    ["IPv6 loopback, uncompressed text", dst("fd00::2", "0:0:0:0:0:0:0:1"), "0:0:0:0:0:0:0:1"],
    // IPv4-mapped loopback is still loopback.
    ["IPv4-mapped loopback", dst("fd00::2", "::ffff:127.0.0.1"), "::ffff:127.0.0.1"],
    // A loopback source (nonsense, but never quarantine it).
    ["loopback source, container scope", quar("127.0.0.1"), "127.0.0.1"],
    // Ordinary external destinations are blockable when nothing is configured.
    ["external IPv4", dst("172.18.0.2", "203.0.113.7"), null],
    // Same for IPv6.
    ["external IPv6", dst("fd00::2", "2001:db8::7"), null],
    // Quarantining a normal container IP is allowed.
    ["normal container quarantine", quar("172.18.0.2"), null],
  ];
  // Only the built-in list: loopback refused in any form, everything else allowed.
  it.each(cases)("built-in list: %s", (_why, entry, refusedIp) => {
    const reason = new NeverBlock([]).refuse(entry);
    if (refusedIp === null) expect(reason).toBeNull();
    else expect(reason).toBe(`${refusedIp} is on the never-block list`);
  });

  const configured = ["10.0.0.0/8", "192.0.2.53", "fd00:dead::/32"];
  const configuredCases: [why: string, entry: BlockEntry, refused: boolean][] = [
    // Inside a configured network.
    ["destination inside 10/8", dst("172.18.0.2", "10.1.2.3"), true],
    // A bare address is a /32.
    ["destination equal to a single address", dst("172.18.0.2", "192.0.2.53", 53), true],
    // Its neighbour is not covered.
    ["neighbour of a single address", dst("172.18.0.2", "192.0.2.54"), false],
    // IPv6 networks are honoured.
    ["destination inside fd00:dead::/32", dst("fd00::2", "fd00:dead:1::9"), true],
    // Just outside the IPv6 network.
    ["destination outside fd00:dead::/32", dst("fd00::2", "fd00:beef::9"), false],
    // The source is checked too: a container on a protected network is never blocked.
    ["destination block from a protected source", dst("10.0.0.5", "203.0.113.7"), true],
    // And never quarantined.
    ["quarantine of a protected source", quar("10.9.9.9"), true],
    // IPv6 source inside a protected network.
    ["IPv6 quarantine of a protected source", quar("fd00:dead::5"), true],
    // Loopback stays refused when a list is configured (the list adds, never replaces).
    ["loopback with a configured list", dst("172.18.0.2", "127.0.0.1"), true],
  ];
  // The configured list (CIDRs and addresses, both families) is checked on both ends.
  it.each(configuredCases)("configured list: %s", (_why, entry, refused) => {
    expect(new NeverBlock(configured).refuse(entry) !== null).toBe(refused);
  });

  // The reason names the end that is protected, so the log line says which address saved it.
  it("names the protected end in its reason", () => {
    const nb = new NeverBlock(["10.0.0.0/8"]);
    expect(nb.refuse(dst("10.0.0.5", "203.0.113.7"))).toBe("10.0.0.5 is on the never-block list");
    expect(nb.refuse(dst("172.18.0.2", "10.0.0.6"))).toBe("10.0.0.6 is on the never-block list");
  });

  // Gateways are added at run time; add() reports growth so the kernel set is rewritten only when needed.
  it("adds a gateway once: true when new, false when already there", () => {
    const nb = new NeverBlock([]);
    expect(nb.refuse(dst("172.18.0.2", "172.18.0.1", 53))).toBeNull();
    expect(nb.add("172.18.0.1")).toBe(true);
    expect(nb.add("172.18.0.1")).toBe(false);
    expect(nb.refuse(dst("172.18.0.2", "172.18.0.1", 53))).toBe("172.18.0.1 is on the never-block list");
    // Only that address: the rest of the subnet stays blockable.
    expect(nb.refuse(dst("172.18.0.2", "172.18.0.3"))).toBeNull();
  });

  // IPv6 gateways too, whatever their text form.
  it("adds IPv6 gateways, recognising another text form as the same", () => {
    const nb = new NeverBlock([]);
    expect(nb.add("fd00:18::1")).toBe(true);
    expect(nb.add("FD00:18:0:0::1")).toBe(false);
    expect(nb.refuse(dst("fd00:18::2", "fd00:18::1", 53))).not.toBeNull();
  });

  // Garbage (a Docker network without a gateway, or a bad config value) is ignored, not thrown.
  it("ignores invalid addresses", () => {
    const nb = new NeverBlock(["not-an-ip", "10.0.0.0/99"]);
    expect(nb.add("")).toBe(false);
    expect(nb.add("300.1.1.1")).toBe(false);
    expect(nb.cidrs().map((c) => c.text)).toEqual(["127.0.0.0/8", "::1/128"]);
  });

  // cidrs() is what the firewall writes into netmon-safe4/6: loopback, config and gateways, no duplicates.
  it("lists every network once, loopback included", () => {
    const nb = new NeverBlock(["10.0.0.0/8", "10.0.0.0/8", "fd00:dead::/32"]);
    nb.add("172.18.0.1");
    nb.add("172.18.0.1");
    expect(
      nb
        .cidrs()
        .map((c) => c.text)
        .sort(),
    ).toEqual(["10.0.0.0/8", "127.0.0.0/8", "172.18.0.1/32", "::1/128", "fd00:dead::/32"].sort());
  });
});

describe("BlockRateLimit", () => {
  // Exactly N in a sliding minute; the (N+1)th waits until the oldest is a full minute old.
  it("allows exactly perMinute in any sliding minute", () => {
    const rl = new BlockRateLimit(3);
    const steps: [offsetMs: number, allowed: boolean, why: string][] = [
      [0, true, "first"],
      [1_000, true, "second"],
      [2_000, true, "third: the limit"],
      [3_000, false, "fourth within the minute is refused"],
      [59_999, false, "still refused 1 ms before the first leaves the window"],
      [MIN, true, "the first block is a full minute old: its slot is free"],
      [MIN, false, "that freed slot is taken again"],
      [MIN + 999, false, "the second leaves only at 61 s"],
      [MIN + 1_000, true, "the second's slot frees"],
      [MIN + 2_000, true, "and the third's"],
      [MIN + 2_001, false, "three in the last minute again"],
    ];
    for (const [offset, allowed, why] of steps) expect(rl.take(T0 + offset), why).toBe(allowed);
  });

  // A refused attempt takes no slot: a flood of refused alerts does not extend the lock-out.
  it("does not count refused attempts", () => {
    const rl = new BlockRateLimit(1);
    expect(rl.take(T0)).toBe(true);
    for (let t = 1; t < MIN; t += 997) expect(rl.take(T0 + t)).toBe(false);
    expect(rl.take(T0 + MIN)).toBe(true);
  });

  // After a quiet period the full budget is back at once.
  it("frees every slot after 60 s of quiet", () => {
    const rl = new BlockRateLimit(5);
    for (let i = 0; i < 5; i++) expect(rl.take(T0)).toBe(true);
    expect(rl.take(T0 + 30_000)).toBe(false);
    for (let i = 0; i < 5; i++) expect(rl.take(T0 + MIN)).toBe(true);
    expect(rl.take(T0 + MIN)).toBe(false);
  });
});
