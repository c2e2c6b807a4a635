import { describe, expect, it } from "vitest";
import type { Argv } from "../../src/block/commands.js";
import { Firewall, FirewallError, parseSaveLine } from "../../src/block/firewall.js";
import type { BlockEntry } from "../../src/block/types.js";
import { type Cidr, parseCidr } from "../../src/net/cidr.js";
import { bad, FakeHost, type Family, ok } from "../support/fake-host.js";

/** "iptables -w 5 -S NETMON" → argv (no netmon argument contains a space). */
const cmd = (text: string): string[] => text.split(" ");
const texts = (calls: readonly Argv[]): string[] => calls.map((a) => a.join(" "));

const cidrs = (...t: string[]): Cidr[] => t.map((x) => parseCidr(x)!);
const NEVER = cidrs("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.18.0.1", "fd00:18::1");

/** The commands ensure() runs for one family on a host where nothing of netmon exists yet. */
function freshFamily(f: Family, safe: string[]): string[] {
  const ipt = f === 4 ? "iptables -w 5" : "ip6tables -w 5";
  const inet = f === 4 ? "inet" : "inet6";
  return [
    `${ipt} -S DOCKER-USER`,
    `ipset create netmon-dst${f} hash:ip,port,ip family ${inet} timeout 3600 -exist`,
    `ipset create netmon-quar${f} hash:ip family ${inet} timeout 3600 -exist`,
    `ipset create netmon-safe${f} hash:net family ${inet} -exist`,
    `${ipt} -S NETMON`,
    `${ipt} -N NETMON`,
    `${ipt} -F NETMON`,
    `${ipt} -A NETMON -p tcp -m set --match-set netmon-dst${f} src,dst,dst -j REJECT --reject-with tcp-reset`,
    `${ipt} -A NETMON -m set --match-set netmon-dst${f} src,dst,dst -j DROP`,
    `${ipt} -A NETMON -m set --match-set netmon-dst${f} dst,src,src -j DROP`,
    `${ipt} -A NETMON -m set --match-set netmon-quar${f} src -m set --match-set netmon-safe${f} dst -j RETURN`,
    `${ipt} -A NETMON -m set --match-set netmon-quar${f} src -m conntrack --ctstate NEW -j DROP`,
    `${ipt} -C DOCKER-USER -j NETMON`,
    `${ipt} -I DOCKER-USER 1 -j NETMON`,
    // The never-block set is filled aside and swapped in: never empty while the quarantine rule runs.
    `ipset create netmon-safe${f}-next hash:net family ${inet} -exist`,
    `ipset flush netmon-safe${f}-next`,
    ...safe.map((c) => `ipset add netmon-safe${f}-next ${c} -exist`),
    `ipset swap netmon-safe${f}-next netmon-safe${f}`,
    `ipset destroy netmon-safe${f}-next`,
  ];
}

const FRESH = [
  ...freshFamily(4, ["127.0.0.0/8", "10.0.0.0/8", "172.18.0.1/32"]),
  ...freshFamily(6, ["::1/128", "fd00:18::1/128"]),
];

/** Characters a shell would interpret: none may appear, the commands are never a shell string anyway. */
const SHELL_META = /[\s;&|$`<>()'"\\*?!#~{}[\]]/;

describe("Firewall.ensure", () => {
  // The exact layout on a fresh host: sets, chain, the five rules in order, one jump at the top, the safe set.
  it("issues exactly the expected commands on a fresh host", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    expect(fw.ensure(NEVER)).toEqual({ families: [4, 6], skipped: [] });
    expect(texts(host.calls)).toEqual(FRESH);
    // Arguments are separate array items exactly as written (nothing glued with a space).
    expect(host.calls).toEqual(FRESH.map(cmd));
    expect(host.jumps).toEqual({ 4: 1, 6: 1 });
    expect(fw.supports(4) && fw.supports(6)).toBe(true);
  });

  // Every firewall command is iptables/ip6tables with the xtables lock wait, or ipset; no shell syntax anywhere.
  it("only runs iptables -w 5, ip6tables -w 5 or ipset, without shell metacharacters", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(NEVER);
    fw.ensure(NEVER);
    fw.teardown();
    expect(host.calls.length).toBeGreaterThan(FRESH.length);
    for (const argv of host.calls) {
      const [c, w, n] = argv;
      if (c === "ipset") expect(argv.length).toBeGreaterThan(1);
      else
        expect([c, w, n], argv.join(" ")).toEqual([c === "ip6tables" ? "ip6tables" : "iptables", "-w", "5"]);
      for (const a of argv) expect(a, argv.join(" ")).not.toMatch(SHELL_META);
      for (const a of argv) expect(a.length, argv.join(" ")).toBeGreaterThan(0);
    }
  });

  // Repair is idempotent: a second call leaves an intact chain alone (no window without its rules), never
  // adds a second jump or re-creates the chain.
  it("is idempotent on a second call", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(NEVER);
    host.calls.length = 0;
    expect(fw.ensure(NEVER)).toEqual({ families: [4, 6], skipped: [] });
    const second = texts(host.calls);
    expect(second.filter((c) => c.includes(" -N "))).toEqual([]);
    expect(second.filter((c) => c.includes(" -I "))).toEqual([]);
    expect(second).toContain("iptables -w 5 -C DOCKER-USER -j NETMON");
    expect(second).toContain("ip6tables -w 5 -C DOCKER-USER -j NETMON");
    // An intact chain is not flushed: blocks keep working while the jump is repaired.
    expect(second.filter((c) => c.includes(" -A NETMON ") || c.includes(" -F NETMON"))).toEqual([]);
    expect(host.jumps).toEqual({ 4: 1, 6: 1 });
    expect(host.rules[4]).toHaveLength(5);
    expect(host.rules[6]).toHaveLength(5);
    // Same sequence as the fresh one, minus -N, -I and the chain rewrite.
    expect(second).toEqual(
      FRESH.filter((c) => !c.includes(" -N ") && !c.includes(" -I ") && !/ -[AF] NETMON/.test(c)),
    );
  });

  // Hand-added rules in our chain are dropped: the chain is wholly netmon's.
  it("converges a hand-edited chain back to the five rules", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(NEVER);
    host.rules[4].push(["-j", "ACCEPT"]);
    host.rules[4].splice(0, 1);
    fw.ensure(NEVER);
    expect(host.rules[4].map((r) => r.join(" "))).toEqual(
      FRESH.filter((c) => c.startsWith("iptables -w 5 -A NETMON ")).map((c) =>
        c.slice("iptables -w 5 -A NETMON ".length),
      ),
    );
  });

  // The safe set is rewritten from scratch: an address dropped from the list is no longer exempt.
  it("rewrites the never-block set on each call", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(NEVER);
    fw.ensure(cidrs("127.0.0.0/8", "::1/128"));
    expect([...host.sets.get("netmon-safe4")!.keys()]).toEqual(["127.0.0.0/8"]);
    expect([...host.sets.get("netmon-safe6")!.keys()]).toEqual(["::1/128"]);
  });

  // Without DOCKER-USER (dockerd not running) there is nowhere to hook in: a clear error, nothing created.
  it("throws FirewallError when iptables has no DOCKER-USER", () => {
    const host = new FakeHost({ dockerUser4: false });
    const fw = new Firewall(host.run);
    expect(() => fw.ensure(NEVER)).toThrow(FirewallError);
    expect(() => fw.ensure(NEVER)).toThrow(/DOCKER-USER not found: is dockerd running\?/);
    expect(texts(host.calls).every((c) => c === "iptables -w 5 -S DOCKER-USER")).toBe(true);
    expect(host.sets.size).toBe(0);
    expect(fw.supports(4)).toBe(false);
  });

  // Docker without ip6tables management is common: IPv4 is set up, IPv6 is skipped with a message.
  it("skips IPv6 with a message when ip6tables has no DOCKER-USER", () => {
    const host = new FakeHost({ dockerUser6: false });
    const fw = new Firewall(host.run);
    const r = fw.ensure(NEVER);
    expect(r.families).toEqual([4]);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]).toMatch(/ip6tables has no DOCKER-USER chain.*IPv6 blocks are not possible/);
    const ran = texts(host.calls);
    expect(ran).toEqual([
      ...freshFamily(4, ["127.0.0.0/8", "10.0.0.0/8", "172.18.0.1/32"]),
      "ip6tables -w 5 -S DOCKER-USER",
    ]);
    expect([...host.sets.keys()].some((s) => s.endsWith("6"))).toBe(false);
    expect(fw.supports(4)).toBe(true);
    expect(fw.supports(6)).toBe(false);
  });

  // A failing setup command is an error with the command and the tool's message, not a silent half-setup.
  it("throws FirewallError naming the failing command", () => {
    const host = new FakeHost();
    host.fail = (a) =>
      a[1] === "create" && a[2] === "netmon-quar4" ? "Kernel error received: Operation not permitted" : null;
    const fw = new Firewall(host.run);
    expect(() => fw.ensure(NEVER)).toThrow(
      new FirewallError(
        "ipset create netmon-quar4 hash:ip family inet timeout 3600 -exist: Kernel error received: Operation not permitted",
      ),
    );
  });

  // A failed repair (e.g. on an inventory change) must not make the firewall forget what already works.
  it("keeps the supported families when a later ensure fails", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(NEVER);
    host.fail = (a) =>
      a[1] === "add" && a[2] === "netmon-safe4-next" ? "Hash is full, cannot add more elements" : null;
    expect(() => fw.ensure(NEVER)).toThrow(FirewallError);
    expect(fw.supports(4)).toBe(true);
    expect(fw.supports(6)).toBe(true);
  });

  // The default timeout given to the constructor is the sets' default (blocking.durationSeconds).
  it("creates the sets with the configured default timeout", () => {
    const host = new FakeHost();
    new Firewall(host.run, 900).ensure([]);
    expect(texts(host.calls)).toContain(
      "ipset create netmon-dst4 hash:ip,port,ip family inet timeout 900 -exist",
    );
    expect(texts(host.calls)).toContain("ipset create netmon-quar6 hash:ip family inet6 timeout 900 -exist");
  });
});

describe("Firewall.add and remove", () => {
  const d4: BlockEntry = {
    scope: "destination",
    family: 4,
    src: "172.18.0.2",
    proto: "tcp",
    port: 443,
    dst: "203.0.113.7",
  };
  const d6: BlockEntry = {
    scope: "destination",
    family: 6,
    src: "fd00:18::2",
    proto: "udp",
    port: 53,
    dst: "2001:db8::53",
  };
  const q4: BlockEntry = { scope: "container", family: 4, src: "172.18.0.2" };

  function ready(): { host: FakeHost; fw: Firewall } {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure([]);
    host.calls.length = 0;
    return { host, fw };
  }

  // A destination block: the ipset entry with its kernel timeout, then conntrack closes what is open.
  it("adds a destination entry with its timeout, then deletes its conntrack entries", () => {
    const { host, fw } = ready();
    fw.add(d4, 7200);
    expect(host.calls).toEqual([
      cmd("ipset add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 timeout 7200 -exist"),
      cmd("conntrack -D -f ipv4 -s 172.18.0.2 -d 203.0.113.7 -p tcp --dport 443"),
    ]);
    expect(host.sets.get("netmon-dst4")?.get("172.18.0.2,tcp:443,203.0.113.7")).toBe(7200);
  });

  // IPv6 goes to the IPv6 set and to conntrack -f ipv6.
  it("adds an IPv6 destination entry", () => {
    const { host, fw } = ready();
    fw.add(d6, 60);
    expect(texts(host.calls)).toEqual([
      "ipset add netmon-dst6 fd00:18::2,udp:53,2001:db8::53 timeout 60 -exist",
      "conntrack -D -f ipv6 -s fd00:18::2 -d 2001:db8::53 -p udp --dport 53",
    ]);
  });

  // A quarantine is one address in the quar set; there is no single flow to close.
  it("adds a quarantine without conntrack", () => {
    const { host, fw } = ready();
    fw.add(q4, 3600);
    expect(texts(host.calls)).toEqual(["ipset add netmon-quar4 172.18.0.2 timeout 3600 -exist"]);
  });

  // ipset wants a positive integer: fractions round, zero or less becomes 1 (0 would mean "forever").
  it.each([
    [0.4, "1"],
    [0, "1"],
    [-5, "1"],
    [59.6, "60"],
  ])("timeout %d → %s", (t, text) => {
    const { host, fw } = ready();
    fw.add(q4, t);
    expect(host.calls[0]?.[5]).toBe(text);
  });

  // conntrack exits 1 when nothing was open (or is not installed): the block itself stands.
  it("ignores a conntrack failure", () => {
    const { host, fw } = ready();
    host.fail = (a) => (a[0] === "conntrack" ? "conntrack: command not found" : null);
    expect(() => fw.add(d4, 60)).not.toThrow();
    expect(host.sets.get("netmon-dst4")?.size).toBe(1);
  });

  // If the ipset add fails the block is not in place: that must be an error, and nothing else is run.
  it("throws FirewallError when ipset add fails, without running conntrack", () => {
    const { host, fw } = ready();
    host.fail = (a) => (a[1] === "add" ? "Hash is full, cannot add more elements" : null);
    expect(() => fw.add(d4, 60)).toThrow(FirewallError);
    expect(texts(host.calls).some((c) => c.startsWith("conntrack"))).toBe(false);
  });

  // remove() deletes exactly the entry (-exist: already expired is fine).
  it("removes an entry", () => {
    const { host, fw } = ready();
    fw.add(d4, 60);
    host.calls.length = 0;
    fw.remove(d4);
    expect(texts(host.calls)).toEqual(["ipset del netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 -exist"]);
    expect(host.sets.get("netmon-dst4")?.size).toBe(0);
  });

  // A failed delete is reported (the CLI must not claim the block is gone).
  it("throws FirewallError when ipset del fails", () => {
    const { host, fw } = ready();
    host.fail = (a) => (a[1] === "del" ? "Operation not permitted" : null);
    expect(() => fw.remove(q4)).toThrow(FirewallError);
  });
});

describe("Firewall.list and parseSaveLine", () => {
  // list() reads back what the kernel holds in all four block sets (not the safe set).
  it("lists the entries of every block set with their remaining timeout", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(cidrs("10.0.0.0/8"));
    host.sets.get("netmon-dst4")!.set("172.18.0.2,tcp:443,203.0.113.7", 57);
    host.sets.get("netmon-quar4")!.set("172.18.0.3", 3000);
    host.sets.get("netmon-dst6")!.set("fd00:18::2,udp:53,2001:db8::53", 5);
    host.sets.get("netmon-quar6")!.set("fd00:18::3", 12);
    host.calls.length = 0;
    expect(fw.list()).toEqual([
      {
        entry: {
          scope: "destination",
          family: 4,
          src: "172.18.0.2",
          proto: "tcp",
          port: 443,
          dst: "203.0.113.7",
        },
        timeoutLeft: 57,
      },
      { entry: { scope: "container", family: 4, src: "172.18.0.3" }, timeoutLeft: 3000 },
      {
        entry: {
          scope: "destination",
          family: 6,
          src: "fd00:18::2",
          proto: "udp",
          port: 53,
          dst: "2001:db8::53",
        },
        timeoutLeft: 5,
      },
      { entry: { scope: "container", family: 6, src: "fd00:18::3" }, timeoutLeft: 12 },
    ]);
    // Read-only: only `ipset save` of the four block sets.
    expect(texts(host.calls)).toEqual([
      "ipset save netmon-dst4",
      "ipset save netmon-quar4",
      "ipset save netmon-dst6",
      "ipset save netmon-quar6",
    ]);
  });

  // A missing set (IPv6 skipped, or never set up) is simply empty, not an error.
  it("returns nothing for sets that do not exist", () => {
    const host = new FakeHost();
    expect(new Firewall(host.run).list()).toEqual([]);
  });

  const lines: [
    why: string,
    line: string,
    kind: "dst" | "quar",
    f: Family,
    want: ReturnType<typeof parseSaveLine>,
  ][] = [
    // The normal IPv4 destination line.
    [
      "IPv4 destination",
      "add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 timeout 57",
      "dst",
      4,
      {
        entry: {
          scope: "destination",
          family: 4,
          src: "172.18.0.2",
          proto: "tcp",
          port: 443,
          dst: "203.0.113.7",
        },
        timeoutLeft: 57,
      },
    ],
    // IPv6 elements contain colons: the proto:port part must still be found.
    [
      "IPv6 destination",
      "add netmon-dst6 fd00:18::2,udp:53,2001:db8::53 timeout 3",
      "dst",
      6,
      {
        entry: {
          scope: "destination",
          family: 6,
          src: "fd00:18::2",
          proto: "udp",
          port: 53,
          dst: "2001:db8::53",
        },
        timeoutLeft: 3,
      },
    ],
    // Addresses come back in canonical form so ids match the ones netmon computed.
    [
      "IPv6 normalised",
      "add netmon-quar6 FD00:18:0:0:0:0:0:3 timeout 9",
      "quar",
      6,
      { entry: { scope: "container", family: 6, src: "fd00:18::3" }, timeoutLeft: 9 },
    ],
    // Trailing spaces or CR do not matter.
    [
      "surrounding whitespace",
      "  add netmon-quar4 172.18.0.3 timeout 10 \r",
      "quar",
      4,
      { entry: { scope: "container", family: 4, src: "172.18.0.3" }, timeoutLeft: 10 },
    ],
    // An entry without timeout (added by hand) is read as 0 seconds left.
    [
      "no timeout",
      "add netmon-quar4 172.18.0.3",
      "quar",
      4,
      { entry: { scope: "container", family: 4, src: "172.18.0.3" }, timeoutLeft: 0 },
    ],
    // The header line is not an entry.
    [
      "create line",
      "create netmon-dst4 hash:ip,port,ip family inet hashsize 1024 timeout 3600",
      "dst",
      4,
      null,
    ],
    // Empty lines.
    ["empty line", "", "dst", 4, null],
    // A line of another set (e.g. the safe set, or another tool's) is ignored.
    ["other set", "add netmon-safe4 10.0.0.0/8", "dst", 4, null],
    // A line of the same kind but the other family is not taken for this one.
    ["other family", "add netmon-quar6 fd00::3 timeout 9", "quar", 4, null],
    // Other protocols (icmp, sctp) are not what netmon adds.
    ["icmp element", "add netmon-dst4 172.18.0.2,icmp:8/0,203.0.113.7 timeout 5", "dst", 4, null],
    // Invalid addresses are rejected, not turned into bogus entries.
    ["invalid src", "add netmon-dst4 999.18.0.2,tcp:443,203.0.113.7 timeout 5", "dst", 4, null],
    // Same for the destination.
    ["invalid dst", "add netmon-dst4 172.18.0.2,tcp:443,nope timeout 5", "dst", 4, null],
    // And for a quarantined address.
    ["invalid quarantine", "add netmon-quar4 garbage timeout 5", "quar", 4, null],
    // Noise from the tool.
    ["junk", "ipset v7.17: Warning: something", "quar", 4, null],
  ];
  // `ipset save` text back into entries, tolerating every line that is not one of ours.
  it.each(lines)("%s", (_why, line, kind, f, want) => {
    expect(parseSaveLine(line, kind, f)).toEqual(want);
  });

  // Junk among real lines: only the real entries come back.
  it("skips junk lines inside a save dump", () => {
    const dump = [
      "create netmon-dst4 hash:ip,port,ip family inet hashsize 1024 maxelem 65536 timeout 3600",
      "add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 timeout 57",
      "garbage",
      "add netmon-dst4 172.18.0.2,tcp:80 timeout 1",
      "add netmon-dst4 172.18.0.4,udp:123,198.51.100.1 timeout 8",
      "",
    ].join("\n");
    const fw = new Firewall((a) => (a[2] === "netmon-dst4" ? ok(dump) : bad("no such set")));
    expect(fw.list().map((k) => [k.entry.src, k.timeoutLeft])).toEqual([
      ["172.18.0.2", 57],
      ["172.18.0.4", 8],
    ]);
  });
});

describe("Firewall.teardown", () => {
  // Teardown leaves no trace: every jump (even duplicates from a crash), the chain, and netmon's sets.
  it("removes all jumps, flushes and deletes the chain, destroys the netmon sets", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure(NEVER);
    host.jumps[4] = 3; // duplicates left by a crash mid-setup
    host.sets.set("docker-owned", new Map());
    host.calls.length = 0;
    expect(fw.teardown()).toEqual([]);
    const ran = texts(host.calls);
    expect(ran.filter((c) => c === "iptables -w 5 -D DOCKER-USER -j NETMON")).toHaveLength(3);
    expect(ran.filter((c) => c === "ip6tables -w 5 -D DOCKER-USER -j NETMON")).toHaveLength(1);
    expect(host.jumps).toEqual({ 4: 0, 6: 0 });
    expect(host.netmonChain).toEqual({ 4: false, 6: false });
    // -F before -X: a chain with rules cannot be deleted.
    expect(ran.indexOf("iptables -w 5 -F NETMON")).toBeLessThan(ran.indexOf("iptables -w 5 -X NETMON"));
    // Sets are destroyed after the rules that reference them are gone.
    expect(ran.indexOf("ip6tables -w 5 -X NETMON")).toBeLessThan(ran.findIndex((c) => c.includes("destroy")));
    const destroyed = host.calls.filter((a) => a[1] === "destroy").map((a) => a[2]);
    expect(destroyed.sort()).toEqual(
      ["netmon-dst4", "netmon-dst6", "netmon-quar4", "netmon-quar6", "netmon-safe4", "netmon-safe6"].sort(),
    );
    // Nothing but netmon's own objects is touched.
    expect([...host.sets.keys()]).toEqual(["docker-owned"]);
    for (const c of ran) {
      expect(c).not.toMatch(/ -F DOCKER-USER| -X DOCKER-USER|docker-owned/);
    }
  });

  // On a host where netmon never ran, teardown is a harmless no-op.
  it("does nothing on a clean host", () => {
    const host = new FakeHost();
    expect(new Firewall(host.run).teardown()).toEqual([]);
    expect(texts(host.calls).filter((c) => !/ -S NETMON$|^ipset list -n /.test(c))).toEqual([]);
  });

  // A jump that will not go away must not loop forever.
  it("bounds the jump removal loop", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure([]);
    host.fail = (a) => (a[3] === "-D" ? "iptables: Resource temporarily unavailable." : null);
    const errors = fw.teardown();
    expect(host.calls.filter((a) => a[0] === "iptables" && a[3] === "-D").length).toBeLessThanOrEqual(16);
    expect(errors.length).toBeGreaterThan(0);
  });

  // Errors are collected and returned, never thrown: teardown goes as far as it can.
  it("reports errors without throwing and carries on", () => {
    const host = new FakeHost();
    const fw = new Firewall(host.run);
    fw.ensure([]);
    host.fail = (a) =>
      a[1] === "destroy" && a[2] === "netmon-dst4"
        ? "Set cannot be destroyed: it is in use by a kernel component"
        : null;
    let errors: string[] = [];
    expect(() => {
      errors = fw.teardown();
    }).not.toThrow();
    expect(errors).toEqual([
      "ipset destroy netmon-dst4: Set cannot be destroyed: it is in use by a kernel component",
    ]);
    // The other sets were still destroyed.
    expect([...host.sets.keys()]).toEqual(["netmon-dst4"]);
  });
});
