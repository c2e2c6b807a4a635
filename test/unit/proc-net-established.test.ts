/**
 * The established sockets of /proc/<pid>/net/tcp{,6} (parseEstablished) and the ConnectionSeeder that
 * turns a container's into flows to seed: orientation from its listening ports, the per-container
 * cap, and which containers are read when.
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { endianness } from "node:os";
import { describe, expect, it } from "vitest";
import { ConnectionSeeder } from "../../src/listeners/connection-seeder.js";
import type { ScanTarget } from "../../src/listeners/listener-scanner.js";
import { parseEstablished } from "../../src/listeners/proc-net-established.js";
import { wordsToIp } from "../../src/net/ip-format.js";
import { containerRef } from "../support/fixtures.js";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const REST = "00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 30 10 -1";

/** A line as a little-endian kernel prints it: each address word byte-swapped, ports not. */
function v4(ip: string): string {
  return ip
    .split(".")
    .reverse()
    .map((o) => Number(o).toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}
const hexPort = (p: number): string => p.toString(16).padStart(4, "0").toUpperCase();
function line(i: number, local: string, lport: number, remote: string, rport: number, st: string): string {
  return `  ${i}: ${local}:${hexPort(lport)} ${remote}:${hexPort(rport)} ${st} ${REST}`;
}
function tcp(...lines: string[]): string {
  return `${HEADER}\n${lines.join("\n")}\n`;
}
const MAPPED = (ip: string): string => `0000000000000000FFFF0000${v4(ip)}`;

const seen = (r: ReturnType<typeof parseEstablished>) =>
  r.sockets.map(
    (s) =>
      `${wordsToIp(s.local, s.version)}:${s.localPort} ${wordsToIp(s.remote, s.version)}:${s.remotePort} v${s.version}`,
  );

describe.runIf(endianness() === "LE")("parseEstablished", () => {
  it("keeps ESTABLISHED sockets whose remote side is not loopback", () => {
    const text = tcp(
      line(0, v4("0.0.0.0"), 8080, v4("0.0.0.0"), 0, "0A"),
      line(1, v4("10.17.0.2"), 8080, v4("10.17.0.3"), 50000, "01"),
      line(2, v4("10.17.0.2"), 41000, v4("203.0.113.7"), 4444, "01"),
      line(3, v4("127.0.0.1"), 41001, v4("127.0.0.1"), 6379, "01"),
      line(4, v4("10.17.0.2"), 41002, v4("203.0.113.7"), 443, "06"),
      line(5, v4("10.17.0.2"), 41003, v4("203.0.113.8"), 443, "08"),
      "garbage",
    );
    const r = parseEstablished(text, "tcp", 100);
    expect(seen(r)).toEqual(["10.17.0.2:8080 10.17.0.3:50000 v4", "10.17.0.2:41000 203.0.113.7:4444 v4"]);
    expect(r.errors).toBe(1);
    expect(r.overLimit).toBe(0);
  });

  it("tcp6: an IPv4-mapped socket is IPv4 on the wire; ::1 and mapped loopback are skipped", () => {
    const g = "B80D0120000000000000000002000000"; // 2001:db8::2
    const p = "B80D0120000000000000000007000000"; // 2001:db8::7
    const text = tcp(
      `   0: ${MAPPED("10.17.0.2")}:${hexPort(80)} ${MAPPED("10.17.0.3")}:${hexPort(50002)} 01 ${REST}`,
      `   1: ${g}:${hexPort(41000)} ${p}:${hexPort(443)} 01 ${REST}`,
      `   2: 00000000000000000000000001000000:${hexPort(5000)} 00000000000000000000000001000000:${hexPort(41000)} 01 ${REST}`,
      `   3: ${MAPPED("127.0.0.1")}:${hexPort(5001)} ${MAPPED("127.0.0.1")}:${hexPort(41001)} 01 ${REST}`,
    );
    expect(seen(parseEstablished(text, "tcp6", 100))).toEqual([
      "10.17.0.2:80 10.17.0.3:50002 v4",
      "2001:db8::2:41000 2001:db8::7:443 v6",
    ]);
  });

  it("caps the sockets returned and counts the rest", () => {
    const lines = Array.from({ length: 10 }, (_, i) =>
      line(i, v4("10.17.0.2"), 41000 + i, v4("203.0.113.7"), 443, "01"),
    );
    const r = parseEstablished(tcp(...lines), "tcp", 3);
    expect(r.sockets).toHaveLength(3);
    expect(r.overLimit).toBe(7);
    for (const cap of [0, -1, Number.NaN])
      expect(parseEstablished(tcp(...lines), "tcp", cap).overLimit).toBe(10);
  });
});

describe("parseEstablished on this machine's /proc", () => {
  it("does not report a loopback connection of this process", async () => {
    const server = createServer((s) => s.on("error", () => {}));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const client = createConnection(port, "127.0.0.1");
    await once(client, "connect");
    try {
      const r = parseEstablished(await readFile("/proc/self/net/tcp", "utf8"), "tcp", 10_000);
      expect(r.errors).toBe(0);
      expect(r.sockets.some((s) => s.localPort === port || s.remotePort === port)).toBe(false);
    } finally {
      client.destroy();
      server.close();
    }
  });
});

function fakeProc(files: Record<string, string>): (path: string) => Promise<string> {
  return (path) => {
    const text = files[path];
    if (text !== undefined) return Promise.resolve(text);
    return Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" }));
  };
}

const API: ScanTarget = { ref: containerRef("api"), pid: 100 };
const WEB: ScanTarget = { ref: containerRef("web"), pid: 200 };

describe.runIf(endianness() === "LE")("ConnectionSeeder", () => {
  const files = {
    // api listens on 8080: web's connection to it is inbound; api's own call out is outbound.
    "/proc/100/net/tcp": tcp(
      line(0, v4("0.0.0.0"), 8080, v4("0.0.0.0"), 0, "0A"),
      line(1, v4("10.17.0.2"), 8080, v4("10.17.0.3"), 50000, "01"),
      line(2, v4("10.17.0.2"), 41000, v4("203.0.113.7"), 4444, "01"),
    ),
    "/proc/100/net/tcp6": tcp(),
    "/proc/200/net/tcp": tcp(line(0, v4("10.17.0.3"), 50000, v4("10.17.0.2"), 8080, "01")),
  };

  it("orients each connection from the container's listening ports (tcp6 missing is no error)", async () => {
    const seeder = new ConnectionSeeder({ readFile: fakeProc(files), maxPerContainer: 10 });
    const [api, web] = await seeder.readDue([API, WEB]);
    const text = (c: {
      src: Uint32Array;
      srcPort: number;
      dst: Uint32Array;
      dstPort: number;
      version: 4 | 6;
    }) => `${wordsToIp(c.src, c.version)}:${c.srcPort} -> ${wordsToIp(c.dst, c.version)}:${c.dstPort}`;
    expect(api?.problem).toBeNull();
    expect(api?.connections.map(text)).toEqual([
      "10.17.0.3:50000 -> 10.17.0.2:8080",
      "10.17.0.2:41000 -> 203.0.113.7:4444",
    ]);
    // The same connection from the client's side has the same orientation (one flow, seeded once).
    expect(web?.connections.map(text)).toEqual(["10.17.0.3:50000 -> 10.17.0.2:8080"]);
  });

  it("leaves an inbound connection from a container read on its own side to that side (a half-open server socket proves nothing)", async () => {
    const seeder = new ConnectionSeeder({
      readFile: fakeProc(files),
      maxPerContainer: 10,
      readablePeer: (ip) => ip === "10.17.0.3",
    });
    const [api] = await seeder.readDue([API]);
    expect(api?.connections).toHaveLength(1);
    expect(api?.peerSide).toBe(1);
    expect(wordsToIp(api!.connections[0]!.dst, 4)).toBe("203.0.113.7");
  });

  it("reads each container once per pid, again after a restart or reset; forgets stopped ones", () => {
    const seeder = new ConnectionSeeder({ readFile: fakeProc(files), maxPerContainer: 10 });
    expect(seeder.due([API, WEB])).toEqual([API, WEB]);
    expect(seeder.due([API, WEB])).toEqual([]);
    const restarted = { ...API, pid: 101 };
    expect(seeder.due([restarted, WEB])).toEqual([restarted]);
    expect(seeder.due([WEB])).toEqual([]);
    expect(seeder.due([restarted, WEB])).toEqual([restarted]);
    seeder.reset();
    expect(seeder.due([restarted, WEB])).toEqual([restarted, WEB]);
    expect(seeder.due([{ ...WEB, pid: 0 }])).toEqual([]);
  });

  it("caps per container over both tables; 0 turns seeding off", async () => {
    const capped = new ConnectionSeeder({ readFile: fakeProc(files), maxPerContainer: 1 });
    const [api] = await capped.readDue([API]);
    expect(api?.connections).toHaveLength(1);
    expect(api?.overLimit).toBe(1);
    const off = new ConnectionSeeder({ readFile: fakeProc(files), maxPerContainer: 0 });
    expect(off.enabled).toBe(false);
    expect(await off.readDue([API])).toEqual([]);
  });

  it("a process gone is a problem, not an error, and the container is read again next time", async () => {
    const seeder = new ConnectionSeeder({ readFile: fakeProc(files), maxPerContainer: 10 });
    const gone = { ref: containerRef("gone"), pid: 300 };
    const [r] = await seeder.readDue([gone]);
    expect(r?.problem).toMatch(/process 300 not found/);
    expect(r?.connections).toEqual([]);
    expect(seeder.due([gone])).toEqual([gone]);
  });
});
