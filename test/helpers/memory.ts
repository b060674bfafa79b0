import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
/** A full garbage collection, now. */
export const gc = vm.runInNewContext('gc') as () => void;

/** Heap and buffer memory still held: array buffers are swept off the main thread, so it collects twice with a pause. */
export async function memoryInUse(): Promise<{ heapUsed: number; arrayBuffers: number }> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}
