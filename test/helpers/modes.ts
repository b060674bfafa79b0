import type { ProxyMode } from '@handoff/core';

/** Every way the proxy can write the client's response: suites that hold for both run `describe.each(MODES)`. */
export const MODES: ProxyMode[] = ['response', 'socket'];
