/** What the gateway reads from the environment, checked once at start. */
export interface Config {
  port: number;
  token: string;
}

const DEFAULT_PORT = 3000;
const DEFAULT_TOKEN = 'secret-token';

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const rawPort = env.PORT ?? String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535) {
    throw new Error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(rawPort)}`);
  }
  const token = env.GATEWAY_TOKEN ?? DEFAULT_TOKEN;
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new Error('GATEWAY_TOKEN must be non-empty printable ASCII without spaces');
  }
  return { port, token };
}
