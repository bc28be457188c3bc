// `edgeca edge serve`: the edge on Node, configured from the environment (README: Configure).
import { parseCommandLine, runCommand, UsageError } from './args.ts';

const HELP = `usage: edgeca edge serve
Starts the ACME edge on Node. Settings come from the environment:
  EDGECA_HOST, EDGECA_PORT (127.0.0.1, 14000), EDGECA_BASE_URL (https://127.0.0.1:14000),
  EDGECA_TLS_CERT_FILE, EDGECA_TLS_KEY_FILE (HTTPS when both are set), EDGECA_DB_URL,
  EDGECA_SIGNER_URL (comma-separated for failover), EDGECA_SIGNER_KEY_FILE, EDGECA_SIGNER_CA_FILE,
  EDGECA_RELAY_KEY_FILE, EDGECA_DNS_RESOLVER, EDGECA_HTTP01_PORT, EDGECA_ALLOW_LOOPBACK,
  EDGECA_EAB_REQUIRED, EDGECA_TOS_URL, EDGECA_TRUSTED_PROXY_HEADER
  (the full list: README.md, Configure)
`;

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca edge', HELP, async () => {
    const { positionals, values } = parseCommandLine(
      args,
      { help: { type: 'boolean', short: 'h' } },
      { maxPositionals: 1 },
    );
    const [cmd] = positionals;
    if (values.help || cmd === undefined) {
      process.stdout.write(HELP);
      return 0;
    }
    if (cmd !== 'serve') throw new UsageError(`unknown command "${cmd}"`);
    // Loaded here, not at the top: a mistake in the command line is answered without loading the edge.
    const { loadEdgeConfigFromEnv, startNodeEdge } = await import('../edge/runtime/node-server.ts');
    let config: ReturnType<typeof loadEdgeConfigFromEnv>;
    try {
      config = loadEdgeConfigFromEnv();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const env = process.env;
    const edge = await startNodeEdge(config, {
      host: env.EDGECA_HOST ?? '127.0.0.1',
      port: Number(env.EDGECA_PORT ?? 14000),
      ...(env.EDGECA_TLS_CERT_FILE ? { tlsCertFile: env.EDGECA_TLS_CERT_FILE } : {}),
      ...(env.EDGECA_TLS_KEY_FILE ? { tlsKeyFile: env.EDGECA_TLS_KEY_FILE } : {}),
    });
    console.log(
      JSON.stringify({ event: 'edge-listening', url: edge.url, directory: `${config.baseUrl}/directory` }),
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await edge.close();
    return 0;
  });
}
