import { ConfigError, duration } from '../../../packages/cli/src/config/values';

const BOUND = 'must be at most 2147483647 ms (about 24.8 days, the longest a Node timer waits)';

function refusal(value: unknown): string {
  try {
    duration(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected duration(${JSON.stringify(value)}) to throw`);
}

describe('sidecar duration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    [' 15 s ', 15_000],
    ['250', 250],
    [0, 0],
    [1500, 1500],
  ])('reads %j as %d ms', (value, ms) => {
    expect(duration(value)).toBe(ms);
  });

  it('accepts the longest delay a Node timer waits, 2147483647 ms, as a string or a number', () => {
    expect(duration('2147483647')).toBe(2_147_483_647);
    expect(duration(2_147_483_647)).toBe(2_147_483_647);
  });

  it('accepts 35791m (2147460000 ms), the most minutes under the bound', () => {
    expect(duration('35791m')).toBe(2_147_460_000);
  });

  it.each([
    ['40000m', '"40000m"'],
    ['35792m', '"35792m"'],
    ['2147484s', '"2147484s"'],
    ['2147483648', '"2147483648"'],
    ['99999999999999999999999', '"99999999999999999999999"'],
    [2_147_483_648, '2147483648'],
  ])('refuses %j, saying the bound', (value, shown) => {
    expect(refusal(value)).toBe(`${BOUND}, got ${shown}`);
  });

  it.each(['1.5s', '-5', '10h', 'soon', '', '5 minutes'])('refuses %j, saying what a duration looks like', (value) => {
    expect(refusal(value)).toBe(`must be a duration in ms, or with a unit (500ms, 30s, 2m), got ${JSON.stringify(value)}`);
  });

  it('refuses a negative or fractional number with the integer message', () => {
    expect(refusal(-1)).toBe('must be an integer from 0 up, got -1');
    expect(refusal(1.5)).toBe('must be an integer from 0 up, got 1.5');
  });

  it('refuses a value that is neither a number nor a string', () => {
    expect(refusal(true)).toBe('must be a duration in ms, or with a unit (500ms, 30s, 2m), got true');
    expect(refusal(null)).toBe('must be a duration in ms, or with a unit (500ms, 30s, 2m), got null');
  });
});
