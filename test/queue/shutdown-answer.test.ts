// G33 and H35: close() gives back a delivery without an answer, but once a 2xx head has arrived
// the job is delivered, however much of that answer's body is still on its way.
import http from 'node:http';
import { createQueue, type QueueEvent } from '@handoff/queue';
import { upstream } from '../helpers/servers';
import { until } from '../helpers/wait';
import { STORES } from './helpers';

describe.each(STORES)('close() during a 2xx answer on the %s store', (_name, makeStore) => {
  it('counts the job delivered when its 2xx body is still streaming at the deadline, and never sends it again', async () => {
    const store = makeStore();
    const answers: http.ServerResponse[] = [];
    const target = await upstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the start of a long answer');
      answers.push(res);
    });
    const events: QueueEvent[] = [];
    const queue = createQueue({ pollInterval: 20, ...store.options, onEvent: (e) => events.push(e) });
    try {
      await queue.start();
      const { id } = await queue.enqueue({ url: `${target.url}/streaming`, body: 'x' });
      await until(() => answers.length === 1, 'the head of the answer');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await queue.close({ timeout: 100 });
      expect(events).toContainEqual(expect.objectContaining({ type: 'delivered', id, status: 200 }));

      const again = createQueue({ pollInterval: 20, ...store.options, deliver: false });
      await again.start();
      expect((await again.depth()).depth).toBe(0);
      await again.close();
      expect(answers).toHaveLength(1);
    } finally {
      await queue.close();
      await target.close();
      await store.drop();
    }
  }, 60_000);
});
