import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConnectionTuple, findConnectionSocket } from "../../src/listeners/connection-socket.js";
import { ProcessResolver } from "../../src/processes/process-resolver.js";
import { fakeProc, type ProcNetRow, procNetTable } from "../support/fake-proc.js";

const CLIENT = { ip: "172.30.0.2", port: 40012 };
const SERVER = { ip: "198.51.100.23", port: 4444 };
const tcpTuple: ConnectionTuple = { proto: "tcp", src: CLIENT, dst: SERVER };

/** Container pid 100 with these net tables (missing v6 tables: IPv6 off). */
function tables(t: { tcp?: ProcNetRow[]; tcp6?: ProcNetRow[]; udp?: ProcNetRow[]; udp6?: ProcNetRow[] }) {
  const files: Record<string, string> = {};
  for (const [name, rows] of Object.entries(t))
    files[`/proc/100/net/${name}`] = procNetTable(name.endsWith("6") ? 6 : 4, rows);
  for (const name of ["tcp", "udp"]) files[`/proc/100/net/${name}`] ??= procNetTable(4, []);
  return fakeProc({ files });
}
const row = (over: Partial<ProcNetRow>): ProcNetRow => ({
  local: CLIENT.ip,
  localPort: CLIENT.port,
  remote: SERVER.ip,
  remotePort: SERVER.port,
  state: "01",
  inode: "5555",
  ...over,
});
const find = (fs: ReturnType<typeof fakeProc>, tuple: ConnectionTuple = tcpTuple) =>
  findConnectionSocket(fs.readFile, "/proc", 100, tuple);

describe("the socket of a connection in a container's /proc/<pid>/net", () => {
  it("finds the initiator's socket by its 4-tuple, and the responder's side the other way round", async () => {
    const other = row({ localPort: 40013, inode: "1" });
    expect(await find(tables({ tcp: [other, row({})] }))).toEqual({ kind: "found", inode: "5555" });
    const accepted = row({
      local: SERVER.ip,
      localPort: SERVER.port,
      remote: CLIENT.ip,
      remotePort: CLIENT.port,
    });
    expect(await find(tables({ tcp: [accepted] }))).toEqual({ kind: "found", inode: "5555" });
  });

  it("finds an IPv4 connection of a dual-stack socket in tcp6 (IPv4-mapped), and IPv6 ones", async () => {
    expect(await find(tables({ tcp6: [row({})] }))).toEqual({ kind: "found", inode: "5555" });
    const v6: ConnectionTuple = {
      proto: "tcp",
      src: { ip: "fd00::2", port: 40012 },
      dst: { ip: "2001:db8::1", port: 443 },
    };
    const fs = tables({ tcp6: [row({ local: "fd00::2", remote: "2001:db8::1", remotePort: 443 })] });
    expect(await find(fs, v6)).toEqual({ kind: "found", inode: "5555" });
  });

  it("says gone for a closed connection, for TIME_WAIT (inode 0), and never takes a listener or another peer", async () => {
    expect(await find(tables({ tcp: [] }))).toEqual({ kind: "gone" });
    expect(await find(tables({ tcp: [row({ state: "06", inode: "0" })] }))).toEqual({ kind: "gone" });
    const listener = row({ localPort: 40012, remote: "0.0.0.0", remotePort: 0, state: "0A" });
    const otherPeer = row({ remote: "198.51.100.24" });
    expect(await find(tables({ tcp: [listener, otherPeer] }))).toEqual({ kind: "gone" });
  });

  it("takes the one unconnected UDP socket bound to the initiator's port (sendto), and refuses to pick among two", async () => {
    const udp: ConnectionTuple = { proto: "udp", src: CLIENT, dst: { ip: "198.51.100.23", port: 53 } };
    const unconnected = row({ local: "0.0.0.0", remote: "0.0.0.0", remotePort: 0, state: "07" });
    expect(await find(tables({ udp: [unconnected] }), udp)).toEqual({ kind: "bound", inode: "5555" });
    const connected = row({ remotePort: 53, inode: "6666" });
    expect(await find(tables({ udp: [unconnected, connected] }), udp)).toEqual({
      kind: "found",
      inode: "6666",
    });
    const twin = { ...unconnected, local: "::", remote: "::", inode: "7777" };
    expect(await find(tables({ udp: [unconnected], udp6: [twin] }), udp)).toEqual({
      kind: "ambiguous",
    });
  });

  it("says unreadable when the tables cannot be read (the process exited)", async () => {
    expect(await find(fakeProc({}))).toEqual({ kind: "unreadable" });
  });
});

describe("the socket of a real connection of this process", () => {
  let server: Server;
  let client: Socket;

  beforeAll(async () => {
    server = createServer(() => undefined);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    client = createConnection((server.address() as { port: number }).port, "127.0.0.1");
    await once(client, "connect");
  });

  afterAll(() => {
    client.destroy();
    server.close();
  });

  it("is found by its 4-tuple, and the resolver names this process as its holder", async () => {
    const tuple: ConnectionTuple = {
      proto: "tcp",
      src: { ip: "127.0.0.1", port: client.localPort ?? 0 },
      dst: { ip: "127.0.0.1", port: client.remotePort ?? 0 },
    };
    const found = await findConnectionSocket((p) => readFile(p, "utf8"), "/proc", process.pid, tuple);
    expect(found.kind).toBe("found");
    if (found.kind !== "found") return;
    const owner = (await new ProcessResolver().owners(process.pid, [found.inode])).get(found.inode);
    expect(owner?.process?.pid).toBe(process.pid);
  });
});
