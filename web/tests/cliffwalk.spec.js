import { describe, expect, it } from 'vitest';
import { fillMemory, optimalQ, updatesToLearn, geoMean } from '../src/cliffwalk.js';

describe('Blind Cliffwalk', () => {
  it('fills the memory with 2^n random episodes that include the reward', () => {
    const m = fillMemory(6, 3);
    expect(m.some(([, , r]) => r === 1)).toBe(true);
    const episodes = m.filter(([, , , , terminal]) => terminal).length;
    expect(episodes).toBeGreaterThanOrEqual(64);
    for (const [s, a, r, next, terminal] of m) {
      if (a === 0) expect([r, terminal, next]).toEqual([0, true, s]);
      else if (!terminal) expect(next).toBe(s + 1);
    }
  });

  it('knows Q*: gamma to the distance from the reward', () => {
    const q = optimalQ(4, 0.75);
    expect(q.map((r) => r[1])).toEqual([0.75 ** 3, 0.75 ** 2, 0.75, 1]);
    expect(q.every((r) => r[0] === 0)).toBe(true);
  });

  it('learns with every sampler, the oracle fastest and PER before uniform', () => {
    const r = Object.fromEntries(['uniform', 'per', 'rank', 'oracle'].map((s) => [s, updatesToLearn(8, s, 1)]));
    Object.values(r).forEach((x) => expect(x.learned).toBe(true));
    expect(r.oracle.updates).toBeLessThan(r.per.updates);
    expect(r.per.updates).toBeLessThan(r.uniform.updates);
  });

  it('stops at the update cap and says it did not learn', () => {
    const r = updatesToLearn(8, 'uniform', 1, { maxUpdates: 10 });
    expect(r).toMatchObject({ updates: 10, learned: false });
  });

  it('averages geometrically', () => {
    expect(geoMean([1, 100])).toBeCloseTo(10, 12);
  });
});
