import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chainRules } from "../../src/block/commands.js";
import { detectBackend, type FirewallProbe, parseVariant } from "../../src/block/firewall-backend.js";
import { layoutProblems } from "../../src/block/firewall-layout.js";
import { parseFilterTable, parseNftTables } from "../../src/block/firewall-parse.js";

const FIXTURES = new URL("../fixtures/firewall/", import.meta.url);

/** A captured host (test/fixtures/firewall/<name>/): a missing file is a command that is not there. */
function host(name: string): FirewallProbe {
  const read = (file: string) => {
    const url = new URL(`${name}/${file}`, FIXTURES);
    return existsSync(url) ? readFileSync(url, "utf8") : null;
  };
  const family = (base: string) => ({
    version: read(`${base}-V.txt`),
    nftSave: read(`${base}-nft-save.txt`),
    legacySave: read(`${base}-legacy-save.txt`),
  });
  return {
    4: family("iptables"),
    6: family("ip6tables"),
    nftRuleset: read("nft-list-ruleset.txt"),
    firewalldState: read("firewall-cmd-state.txt"),
  };
}

describe("detectBackend over captured hosts", () => {
  it("iptables-nft with Docker (IPv4 and IPv6): blocks with the default binaries", () => {
    const r = detectBackend(host("iptables-nft-docker"));
    expect(r).toMatchObject({ ok: true, backend: "iptables-nft", reason: "ok", firewalld: false });
    expect(r.binaries).toEqual({ 4: "iptables", 6: "ip6tables" });
    expect(r.notes).toEqual([]);
  });

  it("iptables-legacy with Docker 20.10, IPv6 firewalling off: IPv4 only, and says so", () => {
    const r = detectBackend(host("iptables-legacy-docker"));
    expect(r).toMatchObject({ ok: true, backend: "iptables-legacy" });
    expect(r.binaries).toEqual({ 4: "iptables", 6: null });
    expect(r.notes).toEqual([
      "ip6tables has no DOCKER-USER chain (Docker IPv6 firewalling off): IPv6 blocks are not possible",
    ]);
  });

  // The silent failure this guards against: rules put with `iptables` (nft) while Docker's are in legacy.
  it("`iptables` switched to nft after dockerd started: uses iptables-legacy, where Docker's rules are", () => {
    const r = detectBackend(host("switched-after-docker"));
    expect(r).toMatchObject({ ok: true, backend: "iptables-legacy" });
    expect(r.binaries[4]).toBe("iptables-legacy");
    expect(r.notes[0]).toMatch(/Docker's rules are in iptables-legacy while `iptables` is iptables-nft/);
  });

  it("live Docker chains in both variants: the kernel runs both, netmon follows the default one", () => {
    const r = detectBackend(host("mixed-legacy-nft"));
    expect(r).toMatchObject({ ok: true, backend: "iptables-nft" });
    expect(r.binaries[4]).toBe("iptables");
    expect(r.notes).toContainEqual(expect.stringMatching(/in both iptables-nft and iptables-legacy/));
  });

  it("Docker's nftables firewall backend: refuses, naming the backend and the fix", () => {
    const r = detectBackend(host("docker-nftables"));
    expect(r).toMatchObject({ ok: false, backend: "docker-nftables", reason: "docker-nftables" });
    expect(r.binaries).toEqual({ 4: null, 6: null });
    expect(r.message).toMatch(/table ip docker-bridges, no DOCKER-USER chain/);
    expect(r.message).toMatch(/"firewall-backend": "iptables"/);
    expect(r.message).toMatch(/monitoring continues/);
    expect(r.message).not.toContain("\n");
  });

  it("firewalld running beside Docker on iptables-nft: blocks, and warns about --reload", () => {
    const r = detectBackend(host("firewalld"));
    expect(r).toMatchObject({ ok: true, backend: "iptables-nft", firewalld: true });
    expect(r.notes).toContainEqual(expect.stringMatching(/firewall-cmd --reload.*reconcile/));
  });

  it("firewalld seen from its nft table alone (firewall-cmd not runnable)", () => {
    const r = detectBackend({ ...host("firewalld"), firewalldState: null });
    expect(r.firewalld).toBe(true);
  });

  it("DOCKER-USER that FORWARD does not jump to: refuses (no packet crosses it)", () => {
    const r = detectBackend(host("docker-user-unjumped"));
    expect(r).toMatchObject({ ok: false, backend: "iptables-nft", reason: "docker-user-not-jumped" });
    expect(r.message).toMatch(/restart dockerd/);
  });

  it("a leftover DOCKER-USER jump after moving Docker to nftables still drops, until reboot", () => {
    const nft = host("docker-nftables");
    const r = detectBackend({ ...host("iptables-nft-docker"), nftRuleset: nft.nftRuleset });
    expect(r).toMatchObject({ ok: true, backend: "iptables-nft" });
    expect(r.notes).toContainEqual(expect.stringMatching(/leftover|left from its iptables backend/));
  });

  it("no Docker chains anywhere: refuses with what to check", () => {
    const empty = { version: "iptables v1.8.9 (nf_tables)", nftSave: "", legacySave: "" };
    const r = detectBackend({ 4: empty, 6: empty, nftRuleset: null, firewalldState: null });
    expect(r).toMatchObject({ ok: false, backend: "none", reason: "no-docker-user" });
    expect(r.message).toMatch(/"iptables": false/);
  });

  it("no iptables at all: refuses, telling what to install", () => {
    const none = { version: null, nftSave: null, legacySave: null };
    const r = detectBackend({ 4: none, 6: none, nftRuleset: null, firewalldState: null });
    expect(r).toMatchObject({ ok: false, reason: "no-iptables" });
    expect(r.message).toMatch(/install iptables, ipset and conntrack/);
  });
});

describe("firewall output parsers", () => {
  it("reads the variant from `iptables -V`, old versions being legacy", () => {
    expect(parseVariant("iptables v1.8.9 (nf_tables)\n")).toBe("nft");
    expect(parseVariant("iptables v1.8.4 (legacy)\n")).toBe("legacy");
    expect(parseVariant("iptables v1.6.1\n")).toBe("legacy");
    expect(parseVariant("bash: iptables: command not found")).toBeNull();
    expect(parseVariant(null)).toBeNull();
  });

  it("keeps only the filter table's chains and rules, without counters", () => {
    const t = parseFilterTable(
      "*nat\n:DOCKER - [0:0]\n-A DOCKER -i docker0 -j RETURN\nCOMMIT\n*filter\n:FORWARD DROP [5:300]\n:DOCKER-USER - [0:0]\n[12:720] -A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n",
    );
    expect([...(t?.chains ?? [])]).toEqual(["FORWARD", "DOCKER-USER"]);
    expect(t?.rules.get("FORWARD")).toEqual(["-A FORWARD -j DOCKER-USER"]);
    expect(t?.rules.has("DOCKER")).toBe(false);
    expect(parseFilterTable("*nat\nCOMMIT\n")).toBeNull();
    expect(parseFilterTable("")).toBeNull();
  });

  it("lists nft tables by family and name", () => {
    const text = readFileSync(new URL("firewalld/nft-list-ruleset.txt", FIXTURES), "utf8");
    expect([...parseNftTables(text)]).toEqual(["inet firewalld", "ip filter"]);
  });
});

describe("layoutProblems", () => {
  const netmon = chainRules(4).map((r) => `-A NETMON ${r.join(" ")}`);
  const jump = "-A DOCKER-USER -j NETMON";

  it("is empty for netmon's layout: its jump first, its five rules", () => {
    expect(layoutProblems([jump, "-A DOCKER-USER -j RETURN"], netmon, 4)).toEqual([]);
  });

  it("names each way the layout is lost", () => {
    expect(layoutProblems(["-A DOCKER-USER -j RETURN"], netmon, 4)).toEqual(["jump-missing"]);
    expect(layoutProblems(["-A DOCKER-USER -s 10.0.0.0/8 -j ACCEPT", jump], netmon, 4)).toEqual([
      "jump-not-first",
    ]);
    expect(layoutProblems([jump, jump], netmon, 4)).toEqual(["jump-duplicate"]);
    expect(layoutProblems([], undefined, 4)).toEqual(["chain-missing", "jump-missing"]);
    expect(layoutProblems([jump], [], 4)).toEqual(["chain-changed"]);
  });

  // As `iptables -S NETMON` printed netmon's chain (iptables-nft 1.8.9, in a scratch network namespace).
  const printed = [
    "-A NETMON -p tcp -m set --match-set netmon-dst4 src,dst,dst -j REJECT --reject-with tcp-reset",
    "-A NETMON -m set --match-set netmon-dst4 src,dst,dst -j DROP",
    "-A NETMON -m set --match-set netmon-dst4 dst,src,src -j DROP",
    "-A NETMON -m set --match-set netmon-quar4 src -m set --match-set netmon-safe4 dst -j RETURN",
    "-A NETMON -m set --match-set netmon-quar4 src -m conntrack --ctstate NEW -j DROP",
  ];

  it("reads the chain as iptables prints it back as intact", () => {
    expect(layoutProblems([jump], printed, 4)).toEqual([]);
  });

  it("sees a rule replaced in place (same count, another target or set) as a changed chain", () => {
    const accept = printed.map((r, i) => (i === 4 ? "-A NETMON -j ACCEPT" : r));
    expect(layoutProblems([jump], accept, 4)).toEqual(["chain-changed"]);
    const otherSet = printed.map((r) => r.replace("netmon-safe4", "everything"));
    expect(layoutProblems([jump], otherSet, 4)).toEqual(["chain-changed"]);
  });
});
