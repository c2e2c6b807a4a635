import { describe, expect, it } from "vitest";
import type { Proto } from "../../src/model/events.js";
import { communityId, flowCommunityId } from "../../src/net/community-id.js";

/**
 * The specification's published vectors, TCP and UDP rows (netmon logs no other protocol):
 * https://github.com/corelight/community-id-spec — baseline/README.md ("Default settings" and
 * "A custom seed=1 value" tables) and baseline/baseline_deflt.json (tuples of pcaps/combined.pcap.gz).
 */
const VECTORS: [Proto, string, number, string, number, number, string][] = [
  // baseline/README.md, default settings (seed 0)
  ["tcp", "1.2.3.4", 1122, "5.6.7.8", 3344, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM="],
  ["tcp", "5.6.7.8", 3344, "1.2.3.4", 1122, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM="],
  ["udp", "1.2.3.4", 1122, "5.6.7.8", 3344, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="],
  ["udp", "5.6.7.8", 3344, "1.2.3.4", 1122, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="],
  // baseline/README.md, seed=1
  ["tcp", "1.2.3.4", 1122, "5.6.7.8", 3344, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="],
  ["udp", "5.6.7.8", 3344, "1.2.3.4", 1122, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="],
  // baseline/baseline_deflt.json (seed 0)
  [
    "tcp",
    "2001:470:e5bf:dead:4957:2174:e82c:4887",
    63943,
    "2607:f8b0:400c:c03::1a",
    25,
    0,
    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
  ],
  [
    "tcp",
    "2607:f8b0:400c:c03::1a",
    25,
    "2001:470:e5bf:dead:4957:2174:e82c:4887",
    63943,
    0,
    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
  ],
  ["tcp", "128.232.110.120", 34855, "66.35.250.204", 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
  ["tcp", "66.35.250.204", 80, "128.232.110.120", 34855, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
  ["udp", "192.168.1.52", 54585, "8.8.8.8", 53, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
  ["udp", "8.8.8.8", 53, "192.168.1.52", 54585, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
];

describe("communityId (v1)", () => {
  it.each(VECTORS)("%s %s:%d → %s:%d seed %d = %s", (proto, sip, sport, dip, dport, seed, want) => {
    expect(communityId(proto, sip, sport, dip, dport, seed)).toBe(want);
  });

  it("orders equal addresses by port, so both directions of a loopback flow agree", () => {
    const out = communityId("tcp", "127.0.0.1", 40000, "127.0.0.1", 80);
    expect(out).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(communityId("tcp", "127.0.0.1", 80, "127.0.0.1", 40000)).toBe(out);
    expect(communityId("udp", "127.0.0.1", 80, "127.0.0.1", 40000)).not.toBe(out);
  });

  it("reads any IPv6 spelling as the same address", () => {
    const short = communityId(
      "tcp",
      "2607:f8b0:400c:c03::1a",
      25,
      "2001:470:e5bf:dead:4957:2174:e82c:4887",
      1,
    );
    expect(
      communityId("tcp", "2607:F8B0:400C:0C03:0:0:0:001A", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 1),
    ).toBe(short);
  });

  it("is null for an unparsable address or mixed families", () => {
    expect(communityId("tcp", "not-an-ip", 1, "1.2.3.4", 2)).toBeNull();
    expect(communityId("tcp", "::1", 1, "1.2.3.4", 2)).toBeNull();
  });

  it("flowCommunityId reads an event's endpoints", () => {
    expect(
      flowCommunityId({
        proto: "tcp",
        src: { ip: "1.2.3.4", port: 1122 },
        dst: { ip: "5.6.7.8", port: 3344 },
      }),
    ).toBe("1:wCb3OG7yAFWelaUydu0D+125CLM=");
  });
});
