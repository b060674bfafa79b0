import { ProxyError } from '../../../packages/core/src/errors';
import { MAX_DELAY, duration, fn, integer, invalid } from '../../../packages/core/src/options/values';
import { thrown } from '../helpers';

const BOUND = (name: string, value: number) =>
  `${name} must be at most 2147483647 ms (about 24.8 days, the longest a Node timer waits), got ${value}`;

describe('MAX_DELAY', () => {
  it('is the longest delay a Node timer honours, 2**31-1 ms', () => {
    expect(MAX_DELAY).toBe(2 ** 31 - 1);
  });
});

describe('invalid', () => {
  it('is a HANDOFF_INVALID_OPTIONS naming the option, with a cause only when given', () => {
    const plain = invalid('maxQueue', 'maxQueue is wrong');
    expect(plain).toBeInstanceOf(ProxyError);
    expect(plain).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', status: 500, option: 'maxQueue', message: 'maxQueue is wrong' });
    expect('cause' in plain).toBe(false);
    const cause = new Error('root');
    expect(invalid('x', 'm', cause).cause).toBe(cause);
  });
});

describe('integer', () => {
  it('takes the fallback for null and undefined', () => {
    expect(integer(undefined, 'n', 0, 7)).toBe(7);
    expect(integer(null, 'n', 0, 7)).toBe(7);
  });

  it('keeps 0 and the minimum as values', () => {
    expect(integer(0, 'n', 0, 7)).toBe(0);
    expect(integer(1, 'n', 1, 7)).toBe(1);
    expect(integer(2 ** 40, 'n', 1, 7)).toBe(2 ** 40);
  });

  it.each([
    [-1, 0, 'n must be an integer >= 0, got -1'],
    [0, 1, 'n must be an integer >= 1, got 0'],
    [1.5, 0, 'n must be an integer >= 0, got 1.5'],
    [NaN, 0, 'n must be an integer >= 0, got NaN'],
    [Infinity, 0, 'n must be an integer >= 0, got Infinity'],
    ['5', 0, 'n must be an integer >= 0, got 5'],
    [true, 0, 'n must be an integer >= 0, got true'],
  ])('refuses %p with min %d', (value, min, message) => {
    const err = thrown(() => integer(value, 'n', min, 7));
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'n', message });
  });
});

describe('duration', () => {
  it('accepts 0 and 2**31-1 ms', () => {
    expect(duration(0, 'd', 5)).toBe(0);
    expect(duration(2 ** 31 - 1, 'd', 5)).toBe(2 ** 31 - 1);
  });

  it('takes the fallback for null and undefined', () => {
    expect(duration(undefined, 'd', 5)).toBe(5);
    expect(duration(null, 'd', 5)).toBe(5);
  });

  it.each([2 ** 31, 2 ** 31 + 1000, 1e15])('refuses %d ms, longer than a Node timer waits', (value) => {
    const err = thrown(() => duration(value, 'someTimeout', 5));
    expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'someTimeout', message: BOUND('someTimeout', value) });
  });

  it('refuses a negative or fractional value with the integer message', () => {
    expect(thrown(() => duration(-1, 'd', 5)).message).toBe('d must be an integer >= 0, got -1');
    expect(thrown(() => duration(0.5, 'd', 5)).message).toBe('d must be an integer >= 0, got 0.5');
  });
});

describe('fn', () => {
  it('is undefined for null and undefined, and the function otherwise', () => {
    const hook = () => undefined;
    expect(fn(undefined, 'onHeaders')).toBeUndefined();
    expect(fn(null, 'onHeaders')).toBeUndefined();
    expect(fn(hook, 'onHeaders')).toBe(hook);
  });

  it('refuses anything else, naming the option', () => {
    expect(thrown(() => fn('x', 'onError'))).toMatchObject({ option: 'onError', message: 'onError must be a function' });
  });
});
