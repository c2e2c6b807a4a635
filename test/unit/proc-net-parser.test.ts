import { createSocket } from "node:dgram";
import { once } from "node:events";
import { readdir, readFile, readlink } from "node:fs/promises";
import { createServer } from "node:net";
import { endianness } from "node:os";
import { describe, expect, it } from "vitest";
import { parseProcNet } from "../../src/listeners/proc-net-parser.js";

// Samples as an x86 (little-endian) kernel prints them: each address word byte-swapped, ports not.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 40001 1 0000000000000000 100 0 0 10 0
   1: 0B00007F:A1B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 40002 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 40003 1 0000000000000000 100 0 0 10 0
   3: 0200110A:1F90 0300110A:C350 01 00000000:00000000 02:000AFA3B 00000000     0        0 40004 2 0000000000000000 20 4 30 10 -1
   4: 0200110A:1F90 0400110A:C351 06 00000000:00000000 03:00000F9E 00000000     0        0 0 3 0000000000000000
   5: 0200110A:D431 0500110A:0035 02 00000001:00000000 01:00000064 00000002     0        0 40006 1 0000000000000000 100 0 0 10 -1
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50002 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50003 1 0000000000000000 100 0 0 10 0
   3: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50004 1 0000000000000000 100 0 0 10 0
   4: 0000000000000000FFFF00000200110A:0050 0000000000000000FFFF00000300110A:C352 01 00000000:00000000 02:00000AF1 00000000     0        0 50005 1 0000000000000000 20 4 27 10 -1
   5: 00000000000000000000000001000000:1F91 00000000000000000000000001000000:E1A0 06 00000000:00000000 03:000011B4 00000000     0        0 0 3 0000000000000000
`;

const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0B00007F:B5E1 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 60001 2 0000000000000000 0
  101: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 60002 2 0000000000000000 0
  102: 0200110A:C001 0B00007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 60003 2 0000000000000000 0
  103: 0200110A:C002 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 60004 2 0000000000000000 0
  104: 0200110A:C003 0500110A:0035 07 00000000:00000000 00:00000000 00000000     0        0 60005 2 0000000000000000 0
  105: 00000000:0000 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 60006 2 0000000000000000 0
`;

const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  200: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 70001 2 0000000000000000 0
  201: 000080FE000000000000000001000000:0222 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 70002 2 0000000000000000 0
  202: 00000000000000000000000001000000:D000 00000000000000000000000001000000:0035 01 00000000:00000000 00:00000000 00000000     0        0 70003 2 0000000000000000 0
  203: 0000000000000000FFFF00000B00007F:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 70004 2 0000000000000000 0
`;

const TCP_HEADER = TCP.split("\n")[0]!;

/** A LISTEN line for 10.0.0.<host>:<port> in /proc/net/tcp form. */
function tcpListen(sl: number, host: number, port: number, inode: number): string {
  const addr = `${host.toString(16).padStart(2, "0")}00000A`.toUpperCase();
  const p = port.toString(16).padStart(4, "0").toUpperCase();
  return `  ${sl}: ${addr}:${p} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
}

describe.runIf(endianness() === "LE")("parseProcNet on recorded little-endian samples", () => {
  it("tcp: keeps LISTEN only, decodes addresses and ports, flags Docker DNS", () => {
    const r = parseProcNet(TCP, "tcp");
    expect(r.errors).toBe(0);
    expect(r.truncated).toBe(false);
    expect(r.sockets).toEqual([
      { proto: "tcp", family: 4, address: "0.0.0.0", port: 8080, inode: 40001, dockerDns: false },
      { proto: "tcp", family: 4, address: "127.0.0.11", port: 41395, inode: 40002, dockerDns: true },
      { proto: "tcp", family: 4, address: "127.0.0.1", port: 3306, inode: 40003, dockerDns: false },
    ]);
  });

  it("tcp6: ::, ::1, IPv4-mapped and a global address; established and TIME_WAIT skipped", () => {
    const r = parseProcNet(TCP6, "tcp6");
    expect(r.errors).toBe(0);
    expect(r.sockets.map((s) => [s.family, s.address, s.port, s.inode])).toEqual([
      [6, "::", 80, 50001],
      [6, "::1", 8081, 50002],
      [6, "::ffff:7f00:1", 8082, 50003],
      [6, "2001:db8::1", 443, 50004],
    ]);
    expect(r.sockets.every((s) => s.proto === "tcp" && !s.dockerDns)).toBe(true);
  });

  it("udp: unconnected bound sockets only (not connected, not unbound)", () => {
    const r = parseProcNet(UDP, "udp");
    expect(r.errors).toBe(0);
    expect(r.sockets).toEqual([
      { proto: "udp", family: 4, address: "127.0.0.11", port: 46561, inode: 60001, dockerDns: true },
      { proto: "udp", family: 4, address: "0.0.0.0", port: 68, inode: 60002, dockerDns: false },
      { proto: "udp", family: 4, address: "10.17.0.2", port: 49154, inode: 60004, dockerDns: false },
    ]);
  });

  it("udp6: ::, link-local, connected skipped, mapped 127.0.0.11 counts as Docker DNS", () => {
    const r = parseProcNet(UDP6, "udp6");
    expect(r.errors).toBe(0);
    expect(r.sockets.map((s) => [s.address, s.port, s.dockerDns])).toEqual([
      ["::", 5353, false],
      ["fe80::1", 546, false],
      ["::ffff:7f00:b", 53, true],
    ]);
    expect(r.sockets.every((s) => s.proto === "udp" && s.family === 6)).toBe(true);
  });

  it("counts and skips malformed lines without throwing", () => {
    const text = [
      TCP_HEADER,
      "garbage",
      "   7: ZZZZ0000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
      "   8: 0100007F:0050",
      `   9: 0100007F:0050 00000000:0000 0A ${"x".repeat(2000)}`,
      "  10: 00000000000000000000000000000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
      "  11: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 notanumber 1",
      "", // blank lines are not errors
      tcpListen(12, 5, 22, 777),
    ].join("\n");
    const r = parseProcNet(text, "tcp");
    expect(r.errors).toBe(6);
    expect(r.sockets).toEqual([
      { proto: "tcp", family: 4, address: "10.0.0.5", port: 22, inode: 777, dockerDns: false },
    ]);
    // A v4-width address in a v6 table is malformed too.
    expect(parseProcNet(TCP, "tcp6")).toMatchObject({ sockets: [], errors: 6 });
  });

  it("deduplicates SO_REUSEPORT twins, keeping the first inode", () => {
    const text = [TCP_HEADER, tcpListen(0, 1, 80, 11), tcpListen(1, 1, 80, 12), tcpListen(2, 1, 81, 13)].join(
      "\n",
    );
    const r = parseProcNet(text, "tcp");
    expect(r.sockets.map((s) => [s.port, s.inode])).toEqual([
      [80, 11],
      [81, 13],
    ]);
  });

  it("stops at maxSockets distinct listeners and says so", () => {
    const lines = [TCP_HEADER];
    for (let i = 0; i < 10; i++) lines.push(tcpListen(i, 1, 1000 + i, 100 + i));
    const text = lines.join("\n");

    const capped = parseProcNet(text, "tcp", 3);
    expect(capped.truncated).toBe(true);
    expect(capped.sockets.map((s) => s.port)).toEqual([1000, 1001, 1002]);

    // Exactly at the cap is complete; duplicates of kept sockets past the cap do not truncate.
    expect(parseProcNet(text, "tcp", 10)).toMatchObject({ truncated: false });
    expect(parseProcNet(`${text}\n${tcpListen(99, 1, 1009, 5)}`, "tcp", 10).truncated).toBe(false);
    expect(parseProcNet(text, "tcp", 0)).toMatchObject({ sockets: [], truncated: true });
    expect(parseProcNet(text, "tcp").sockets).toHaveLength(10);
  });
});

describe("parseProcNet edge cases", () => {
  it("empty file and header-only file", () => {
    expect(parseProcNet("", "tcp")).toEqual({ sockets: [], errors: 0, truncated: false });
    expect(parseProcNet(`${TCP_HEADER}\n`, "tcp")).toEqual({ sockets: [], errors: 0, truncated: false });
    expect(parseProcNet(UDP6.split("\n")[0]!, "udp6")).toEqual({ sockets: [], errors: 0, truncated: false });
  });
});

describe("parseProcNet on this machine's /proc", () => {
  it("finds a TCP server listening on 127.0.0.1 in /proc/self/net/tcp, with the socket's inode", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("no TCP address");
      const r = parseProcNet(await readFile("/proc/self/net/tcp", "utf8"), "tcp");
      expect(r.errors).toBe(0);
      const found = r.sockets.find((s) => s.port === address.port && s.address === "127.0.0.1");
      expect(found).toMatchObject({ proto: "tcp", family: 4, dockerDns: false });
      // The inode is the one behind one of our own file descriptors.
      const links = await Promise.all(
        (await readdir("/proc/self/fd")).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")),
      );
      expect(links).toContain(`socket:[${found!.inode}]`);
    } finally {
      server.close();
    }
  });

  it("finds a bound UDP socket in /proc/self/net/udp", async () => {
    const sock = createSocket("udp4");
    sock.bind(0, "127.0.0.1");
    await once(sock, "listening");
    try {
      const { port } = sock.address();
      const r = parseProcNet(await readFile("/proc/self/net/udp", "utf8"), "udp");
      expect(r.errors).toBe(0);
      expect(r.sockets).toContainEqual(expect.objectContaining({ address: "127.0.0.1", port, proto: "udp" }));
    } finally {
      sock.close();
    }
  });
});
