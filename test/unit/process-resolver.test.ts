import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realProcFs } from "../../src/processes/proc-fs.js";
import {
  parseBootTime,
  parseCmdline,
  parseStartTicks,
  parseStatusUid,
  startedAtIso,
  userNameOf,
} from "../../src/processes/process-info.js";
import { ProcessResolver } from "../../src/processes/process-resolver.js";
import { fakeProc } from "../support/fake-proc.js";

/** A container (init pid 100, netns A) whose nc (pid 120) holds socket 5555; the host's sshd (pid 7, netns H) holds 4444. */
function containerWithNc(extra: { denied?: string[] } = {}) {
  return fakeProc({
    dirs: {
      "/proc": ["7", "100", "120", "self", "stat"],
      "/proc/7/fd": ["0", "3"],
      "/proc/100/fd": ["0"],
      "/proc/120/fd": ["0", "1", "3"],
    },
    links: {
      "/proc/7/ns/net": "net:[H]",
      "/proc/100/ns/net": "net:[A]",
      "/proc/120/ns/net": "net:[A]",
      "/proc/7/fd/3": "socket:[4444]",
      "/proc/100/fd/0": "/dev/null",
      "/proc/120/fd/0": "/dev/null",
      "/proc/120/fd/1": "pipe:[77]",
      "/proc/120/fd/3": "socket:[5555]",
    },
    files: {
      "/proc/stat": "cpu 1 2 3\nbtime 1764547200\n",
      "/proc/120/comm": "nc\n",
      "/proc/120/cmdline": "nc\0-l\0-p\x004444\0",
      "/proc/120/status": "Name:\tnc\nUid:\t1000\t1000\t1000\t1000\n",
      "/proc/120/stat": `120 (nc) S 100 ${Array.from({ length: 17 }, () => "0").join(" ")} 12345 0 0`,
      // The holder's own root (the container's init has another passwd: it must not be used).
      "/proc/100/root/etc/passwd": "root:x:0:0::/root:/bin/sh\nwrong:x:1000:1000::/:/bin/sh\n",
      "/proc/120/root/etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n",
    },
    ...extra,
  });
}

describe("process attribution from /proc", () => {
  it("names the process of the container that holds the socket, with its command line, user and start", async () => {
    const resolver = new ProcessResolver({ fs: containerWithNc() });
    const got = (await resolver.owners(100, ["5555"])).get("5555");
    expect(got).toEqual({
      process: {
        pid: 120,
        comm: "nc",
        cmdline: "nc -l -p 4444",
        uid: 1000,
        user: "app",
        startedAt: new Date(1764547200_000 + 123_450).toISOString(),
      },
    });
  });

  it("never blames a process of another namespace: the host's holder of an inode is not the container's", async () => {
    const resolver = new ProcessResolver({ fs: containerWithNc() });
    expect((await resolver.owners(100, ["4444"])).get("4444")).toEqual({
      process: null,
      processUnknown: "not-found",
    });
  });

  it("says no-permission when fds cannot be read, and exited when the container's process is gone", async () => {
    const denied = new ProcessResolver({ fs: containerWithNc({ denied: ["/proc/120/fd"] }) });
    expect((await denied.owners(100, ["5555"])).get("5555")).toEqual({
      process: null,
      processUnknown: "no-permission",
    });
    const gone = new ProcessResolver({ fs: containerWithNc() });
    expect((await gone.owners(999, ["5555"])).get("5555")).toEqual({
      process: null,
      processUnknown: "exited",
    });
    expect(gone.outcomes.exited).toBe(1);
  });

  it("answers a repeated lookup from its cache with one readlink that re-checks the fd", async () => {
    const fs = containerWithNc();
    const resolver = new ProcessResolver({ fs });
    await resolver.owners(100, ["5555"]);
    fs.reads.length = 0;
    expect((await resolver.owners(100, ["5555"])).get("5555")?.process?.pid).toBe(120);
    expect(fs.reads).toEqual(["/proc/120/fd/3"]);
  });

  it("bounds the work of one lookup", async () => {
    const fs = containerWithNc();
    const resolver = new ProcessResolver({ fs, maxPids: 1 });
    expect((await resolver.owners(100, ["5555"])).get("5555")?.processUnknown).toBe("not-found");
  });

  it("parses hostile /proc text without throwing", () => {
    expect(parseCmdline("a\0b\0")).toBe("a b");
    expect(parseCmdline("x".repeat(2000)).length).toBe(512);
    expect(parseStatusUid("Name: x\n")).toBeNull();
    expect(parseStartTicks("1 (a) b) S 1 2 3")).toBeNull();
    expect(parseStartTicks("garbage")).toBeNull();
    expect(parseBootTime("cpu 1\n")).toBeNull();
    expect(startedAtIso(null, 5)).toBeNull();
    expect(userNameOf("bad line\n::x:\nroot:x:0:0\n", 0)).toBe("root");
    expect(userNameOf(null, 33)).toBe("33");
  });

  it("never lets a process's own text forge a line: control characters become ?, long user names the uid", () => {
    expect(parseCmdline("curl\0-s\0x\nfix: netmon.mode=off\0")).toBe("curl -s x?fix: netmon.mode=off");
    expect(userNameOf(`${"a".repeat(100_000)}:x:7:7\n`, 7)).toBe("7");
    expect(userNameOf("ev\u2028il:x:8:8\n", 8)).toBe("ev?il");
  });

  it("reads a container's file only when it is a regular file, and only its head", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-procfs-"));
    writeFileSync(join(dir, "passwd"), "x".repeat(100_000));
    expect((await realProcFs.readContainerFile(join(dir, "passwd"), 1024)).length).toBe(1024);
    // A FIFO would block a plain read forever; a device like /dev/zero never ends.
    execFileSync("mkfifo", [join(dir, "fifo")]);
    await expect(realProcFs.readContainerFile(join(dir, "fifo"), 1024)).rejects.toThrow(/not a regular file/);
    symlinkSync("/dev/zero", join(dir, "zero"));
    await expect(realProcFs.readContainerFile(join(dir, "zero"), 1024)).rejects.toThrow(/not a regular file/);
  });
});

describe("process attribution against the real /proc", () => {
  let server: Server;
  let inode = "";

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const portHex = port.toString(16).toUpperCase().padStart(4, "0");
    for (const line of readFileSync("/proc/self/net/tcp", "utf8").split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols[1] === `0100007F:${portHex}` && cols[3] === "0A") inode = cols[9] ?? "";
    }
  });

  afterAll(() => server.close());

  it("finds this test process as the holder of its own listening socket", async () => {
    expect(inode).toMatch(/^\d+$/);
    const got = (await new ProcessResolver().owners(process.pid, [inode])).get(inode);
    expect(got?.process?.pid).toBe(process.pid);
    expect(got?.process?.uid).toBe(process.getuid?.());
    expect(got?.process?.cmdline).toContain("node");
    expect(Date.parse(got?.process?.startedAt ?? "")).toBeLessThanOrEqual(Date.now());
  });
});
