/** A throwaway Redis Cluster of three masters on loopback, for the tests and the bench. */
import { freePort, type Service } from "./cluster.ts";
import { onFreshPorts, redisProcess } from "./redis_process.ts";

/** One master of the cluster, which a test may kill and start again. */
export interface ClusterNode {
  port: number;
  url: string;
  /** Kills the server, as a crash would; resolves once it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port and cluster config; resolves once it answers. */
  start(): Promise<void>;
}

/** A running cluster; disposing stops every node and removes its files. */
export interface RedisCluster extends Service, AsyncDisposable {
  nodes: ClusterNode[];
  /** Every node's `redis://127.0.0.1:<port>`, comma-separated: a REDIS_CLUSTER_URLS value. */
  url: string;
  stop(): Promise<void>;
}

const HINT = "Install redis-server and redis-cli with `apt-get install redis-server`.";

/**
 * Starts `masters` redis-server processes with cluster mode on, joins them with
 * `redis-cli --cluster create` (no replicas) and waits for `cluster_state:ok` on each.
 */
export function startRedisCluster(masters = 3): Promise<RedisCluster> {
  return onFreshPorts(() => tryStartRedisCluster(masters));
}

async function tryStartRedisCluster(masters: number): Promise<RedisCluster> {
  const dir = await Deno.makeTempDir({ prefix: "devpocket-redis-cluster-" });
  const nodes = Array.from({ length: masters }, () => clusterNode(dir, clusterPort()));
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
    const create = await command("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    if (!create.success) throw new Error(`redis-cli --cluster create failed: ${create.output}`);
    for (const node of nodes) await untilClusterOk(node.port);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    url: nodes.map((node) => node.url).join(","),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `cluster_state:ok` as `port` sees it, within 10 s. */
export async function untilClusterOk(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await command("redis-cli", ["-p", String(port), "cluster", "info"]);
    if (info.output.includes("cluster_state:ok")) return;
    if (Date.now() > deadline) {
      throw new Error(`Redis Cluster node ${port} is not ok after 10 s: ${info.output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A free port whose cluster bus port (10,000 above it) is free too. redis-server
 * refuses a port above 55,535, whose bus port would not exist, and exits at once when
 * its bus port is taken; the OS's ephemeral range reaches 60,999.
 */
function clusterPort(): number {
  for (;;) {
    const port = freePort();
    if (port <= 55_535 && isFree(port + 10_000)) return port;
  }
}

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

function clusterNode(dir: string, port: number): ClusterNode {
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    ...redisProcess(port, `${dir}/redis-${port}.log`, [
      ...["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`],
      ...["--dir", dir],
    ]),
  };
}

async function command(cmd: string, args: string[]): Promise<{ success: boolean; output: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { success: out.success, output: decode(out.stdout) + decode(out.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`${cmd} not found. ${HINT}`);
    throw error;
  }
}

/** The master of `cluster` that owns `key`'s slot (a sharded channel hashes like a key). */
export async function masterOf(cluster: RedisCluster, key: string): Promise<ClusterNode> {
  const port = await masterPortOf(cluster.nodes.map((node) => node.port), key);
  return cluster.nodes.find((node) => node.port === port)!;
}

/** The port of the master, among the cluster nodes on `ports`, that owns `key`'s slot. */
export async function masterPortOf(ports: number[], key: string): Promise<number> {
  const keyslot = await command("redis-cli", ["-p", String(ports[0]), "cluster", "keyslot", key]);
  const slot = Number(keyslot.output);
  for (const port of ports) {
    const nodes = await command("redis-cli", ["-p", String(port), "cluster", "nodes"]);
    const myself = nodes.output.split("\n").find((line) => line.includes("myself"));
    const ranges = myself?.split(" ").slice(8) ?? [];
    const owns = ranges.some((range) => {
      const [from, to = from] = range.split("-").map(Number);
      return slot >= from && slot <= to;
    });
    if (owns) return port;
  }
  throw new Error(`No master on ports ${ports} owns slot ${slot} (key "${key}")`);
}
