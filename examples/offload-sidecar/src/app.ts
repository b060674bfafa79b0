// The application side of the demo, in a process of its own: the slow origin and the
// two-worker backend. Usage: tsx src/app.ts offload|direct. Prints both addresses.
import { createBackend, type Mode } from './backend';
import { createOrigin, listen } from './origin';

const mode = process.argv[2] as Mode;
if (mode !== 'offload' && mode !== 'direct') {
  console.error('usage: tsx src/app.ts offload|direct');
  process.exit(2);
}
const fileBytes = Number(process.env.FILE_BYTES ?? 1024 * 1024);

async function main(): Promise<void> {
  const origin = createOrigin();
  const originUrl = await listen(origin);
  const backend = createBackend(mode, originUrl, fileBytes);
  const backendUrl = await listen(backend);
  console.log(`origin ${originUrl}`);
  console.log(`backend ${backendUrl} (${mode})`);
  const stop = (): void => {
    backend.closeAllConnections();
    origin.closeAllConnections();
    backend.close();
    origin.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
