import { Deadline } from '../../../packages/core/src/relay/deadline';
import { until } from '../../helpers/wait';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const timeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('Deadline', () => {
  let deadline: Deadline | undefined;
  afterEach(() => deadline?.stop());

  function watch(): { expiredAt: number[]; start: number } {
    const expiredAt: number[] = [];
    const start = performance.now();
    deadline = new Deadline(() => expiredAt.push(performance.now() - start));
    return { expiredAt, start };
  }

  it('expires once, no earlier than set', async () => {
    const { expiredAt } = watch();
    deadline!.set(40);
    expect(deadline!.armed).toBe(true);
    await sleep(150);
    expect(expiredAt).toHaveLength(1);
    expect(expiredAt[0]).toBeGreaterThanOrEqual(39);
    expect(deadline!.armed).toBe(false);
  });

  it('does not expire once cleared, and can be set again', async () => {
    const { expiredAt } = watch();
    deadline!.set(30);
    deadline!.clear();
    await sleep(80);
    expect(expiredAt).toEqual([]);
    deadline!.set(20);
    await sleep(80);
    expect(expiredAt).toHaveLength(1);
  });

  it('keeps one timer across clear and set, and a later deadline still holds', async () => {
    const { expiredAt, start } = watch();
    const before = timeouts();
    deadline!.set(300);
    for (let i = 0; i < 1_000; i++) {
      deadline!.clear();
      deadline!.set(300);
    }
    expect(timeouts()).toBe(before + 1);
    await sleep(20);
    // Moved later: the pending timer fires at 300 ms, finds the deadline ahead and waits for it.
    // Only lower bounds: a loaded machine may run timers late, never early.
    const movedAt = performance.now() - start;
    deadline!.set(300);
    await until(() => expiredAt.length > 0, 'the deadline', { timeout: 5_000 });
    await sleep(50);
    expect(expiredAt).toHaveLength(1);
    expect(expiredAt[0]).toBeGreaterThanOrEqual(movedAt + 299);
  });

  it('replaces the pending timer for an earlier deadline', async () => {
    const { expiredAt } = watch();
    deadline!.set(5_000);
    deadline!.set(30);
    await sleep(120);
    expect(expiredAt).toHaveLength(1);
    expect(expiredAt[0]).toBeLessThan(1_000);
  });

  it('stop() clears the timer itself', () => {
    watch();
    const before = timeouts();
    deadline!.set(10_000);
    expect(timeouts()).toBe(before + 1);
    deadline!.stop();
    expect(timeouts()).toBe(before);
    expect(deadline!.armed).toBe(false);
  });
});
