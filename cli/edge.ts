// `edgeca edge serve`: the edge on Node, configured from the environment (README: Configure).
import { settingsHelp } from '../edge/settings-docs.ts';
import { parseCommandLine, runCommand, UsageError } from './args.ts';

const HELP = `usage: edgeca edge serve
Starts the ACME edge on Node. Settings come from the environment:
${settingsHelp()}
  (README.md, Configure, says more)
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
    const { loadEdgeConfigFromEnv, startNodeEdge } = await import('../edge/main/node.ts');
    let config: ReturnType<typeof loadEdgeConfigFromEnv>;
    try {
      config = loadEdgeConfigFromEnv();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const edge = await startNodeEdge(config, config.listen);
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
