// A bare node:http server in front of the engine, for the interim-response suites.
import http from 'node:http';
import { createProxy, type HandoffProxy, type ProxyCallOptions, type ProxyHandle, type ProxyOptions } from '@handoff/core';
import { listen, type Running } from '../helpers/servers';

export interface EngineServer extends Running {
  proxy: HandoffProxy;
  handles: ProxyHandle[];
}

/** Every request is proxied to `origin` + its path, with `call` options. */
export async function engineServer(origin: string, options: ProxyOptions = {}, call: ProxyCallOptions = {}): Promise<EngineServer> {
  const proxy = createProxy(options);
  const handles: ProxyHandle[] = [];
  const running = await listen(http.createServer((req, res) => handles.push(proxy.fetch(req, res, `${origin}${req.url}`, call))));
  return {
    ...running,
    proxy,
    handles,
    close: async () => {
      await proxy.close({ timeout: 0 });
      await running.close();
    },
  };
}
