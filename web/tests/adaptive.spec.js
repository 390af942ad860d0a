import { describe, expect, it } from 'vitest';
import { makeData, makeTrainer, evaluate, loss, classPrior } from '../src/adaptive-task.js';

describe('adaptive demo task', () => {
  const data = makeData(300, 30, 5);

  it('is imbalanced as described', () => {
    expect(data.filter((p) => p.label === 1).length).toBe(30);
    expect(data.length).toBe(330);
  });

  it('the class-balanced prior gives each class half the mass', () => {
    const q = classPrior(data);
    const mass = [0, 0];
    data.forEach((p, i) => { mass[p.label] += q[i]; });
    expect(mass[0]).toBeCloseTo(mass[1], 12);
    expect(Math.max(...q)).toBe(1);
  });

  it('class-balanced training recalls the minority class better than uniform', () => {
    const recall = (m) => {
      const t = makeTrainer(m, data, { seed: 3 });
      for (let e = 0; e < 30; e++) t.epoch();
      t.free();
      return evaluate(t.w, data).recall[1];
    };
    expect(recall('balanced')).toBeGreaterThan(recall('uniform'));
  });

  it('log loss is finite even for confident mistakes', () => {
    expect(Number.isFinite(loss([50, 50, 50, 0, 0, 0], { x: 5, y: 5, label: 0 }))).toBe(true);
  });

  it('every method trains above chance on both classes', () => {
    for (const m of ['uniform', 'ema', 'ohem', 'balanced', 'balanced-ema']) {
      const t = makeTrainer(m, data, { seed: 2 });
      for (let e = 0; e < 30; e++) t.epoch();
      const { recall, balanced } = evaluate(t.w, data);
      t.free();
      expect(balanced, m).toBeGreaterThan(0.6);
      expect(recall[0], m).toBeGreaterThan(0.5);
    }
  });
});
