// Starts the validator: reads its config, imports the pinned edge keys and its answer key (never
// logged), opens the jti database and validation's Node network on the internal resolver, and
// serves the app over HTTP, or HTTPS when listen.tlsCertFile/tlsKeyFile are set.
import { readFileSync } from 'node:fs';
import { listen } from '../onprem/http.ts';
import { createServiceMetrics, withObservability } from '../onprem/observability.ts';
import { importRelayPrivateKey, importRelayPublicKey, type RelayKey } from '../shared/relay.ts';
import { createNodeNet } from '../validation/node/net.ts';
import { validatorApp } from './app.ts';
import { loadValidatorConfig, type ValidatorConfig } from './config.ts';
import { ValidatorService } from './service.ts';
import { JtiStore } from './store.ts';

export type StartValidatorOptions = ({ configFile: string } | { config: ValidatorConfig }) & {
  log?: (line: Record<string, unknown>) => void;
};

export interface RunningValidator {
  url: string;
  /** kid of the answer key (the edge pins its public part) */
  answerKid: string;
  service: ValidatorService;
  close(): Promise<void>;
}

export async function startValidator(opts: StartValidatorOptions): Promise<RunningValidator> {
  const config = 'configFile' in opts ? loadValidatorConfig(opts.configFile) : opts.config;
  const log =
    opts.log ?? ((line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`));
  const edgeKeys = new Map<string, RelayKey>();
  for (const jwk of config.edgeKeys) {
    try {
      edgeKeys.set(jwk.kid, await importRelayPublicKey(jwk));
    } catch (e) {
      throw new Error(`edgeKeys entry "${jwk.kid ?? '?'}": ${(e as Error).message}`);
    }
  }
  let answerKey: RelayKey;
  try {
    answerKey = await importRelayPrivateKey(JSON.parse(readFileSync(config.validatorKeyFile, 'utf8')));
  } catch (e) {
    throw new Error(`validatorKeyFile ${config.validatorKeyFile}: ${(e as Error).message}`);
  }
  const store = await JtiStore.open(config.database);
  try {
    const net = createNodeNet(config.dnsResolver ? { dnsResolver: config.dnsResolver } : {});
    const service = new ValidatorService({ config, net, store, edgeKeys, answerKey, log });
    // /metrics (requests by path and status), /health and /ready in front of the app.
    const app = withObservability(validatorApp({ service, answerKid: answerKey.kid, log }), {
      metrics: createServiceMetrics('edgeca_validator'),
      service: 'validator',
    });
    const server = await listen(app.fetch, config.listen);
    const url = server.url;
    log({
      event: 'listening',
      role: 'validator',
      url,
      answerKid: answerKey.kid,
      edgeKeys: [...edgeKeys.keys()],
      ...(config.testOnly ? { testOnly: config.testOnly } : {}),
    });
    let closing: Promise<void> | undefined;
    return {
      url,
      answerKid: answerKey.kid,
      service,
      close: () => {
        closing ??= (async () => {
          await server.close();
          store.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    store.close();
    throw e;
  }
}
