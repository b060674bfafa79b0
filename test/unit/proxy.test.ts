import { createProxy } from '../../packages/core/src/proxy';

describe('HandoffProxy.close', () => {
  it('refuses a timeout over 2**31-1 ms without starting to close', async () => {
    const proxy = createProxy();
    const closing = proxy.close({ timeout: 2 ** 31 });
    await expect(closing).rejects.toMatchObject({
      code: 'HANDOFF_INVALID_OPTIONS',
      option: 'close timeout',
      message: 'close timeout must be at most 2147483647 ms (about 24.8 days, the longest a Node timer waits), got 2147483648',
    });
    expect(proxy.stats.closing).toBe(false);
    await proxy.close();
    expect(proxy.stats.closing).toBe(true);
  });

  it.each([0, 2 ** 31 - 1])('accepts a timeout of %d ms', async (timeout) => {
    const proxy = createProxy();
    await expect(proxy.close({ timeout })).resolves.toBeUndefined();
    expect(proxy.stats.closing).toBe(true);
  });
});
