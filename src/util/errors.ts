/**
 * An error meant for the operator: printed as one line (no stack trace) and mapped to an exit code.
 * 1 = runtime failure (Docker unreachable, missing permission), 2 = bad configuration or usage.
 */
export class NetmonError extends Error {
  override name = "NetmonError";
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** Explains why the Docker socket could not be used. */
export function explainDockerError(socketPath: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT")
    return `cannot reach Docker: ${socketPath} does not exist: start dockerd (systemctl start docker), or set docker.socketPath`;
  if (code === "EACCES" || code === "EPERM") {
    return `cannot reach Docker: permission denied on ${socketPath}: run as root, add the user to the socket's group (usermod -aG docker "$(id -un)"), or use a read-only socket proxy (README, "The Docker socket")`;
  }
  if (code === "ECONNREFUSED")
    return `cannot reach Docker: ${socketPath} refused the connection: start dockerd (systemctl start docker)`;
  const message = err instanceof Error ? err.message : String(err);
  return `cannot reach Docker at ${socketPath}: ${message.split("\n")[0]}`;
}
