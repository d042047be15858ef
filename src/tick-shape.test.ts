import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pinNextTickShape } from './tick-shape.ts';

describe('pinNextTickShape', () => {
  it('holds one nextTick entry (its own keys are those of every entry) and holds the same one on every call', () => {
    const entry = pinNextTickShape();
    expect(entry).toBeDefined();
    expect(Reflect.ownKeys(entry!).map(String)).toEqual([
      'callback',
      'args',
      'Symbol(async_id_symbol)',
      'Symbol(trigger_async_id_symbol)',
    ]);
    // It keeps nothing of its caller alive: its callback is a no-op of its own, with no arguments.
    expect((entry as { args?: unknown }).args).toBeUndefined();
    expect(pinNextTickShape()).toBe(entry);
  });

  it('keeps the hidden class of nextTick entries across full GCs with no entry queued', async () => {
    // V8's own view of the objects, which only a child started with these flags can ask for.
    const child = `
      import { createHook } from 'node:async_hooks';
      import { pinNextTickShape } from ${JSON.stringify(new URL('./tick-shape.ts', import.meta.url).href)};
      const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
      const pinned = pinNextTickShape();
      for (let i = 0; i < 10000; i++) process.nextTick(() => {});
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      gc();
      let fresh;
      const hook = createHook({ init(_id, type, _trigger, resource) { if (type === 'TickObject') fresh ??= resource; } });
      hook.enable();
      process.nextTick(() => {});
      hook.disable();
      console.log(JSON.stringify({ fresh: fresh !== undefined && fresh !== pinned, sameMap: haveSameMap(pinned, fresh) }));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '--eval', child],
      { cwd: process.cwd() },
    );
    expect(JSON.parse(stdout)).toEqual({ fresh: true, sameMap: true });
  });
});
