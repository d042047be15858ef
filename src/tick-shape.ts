/**
 * Keeps one `process.nextTick` queue entry alive for the life of the process, so that V8 never
 * frees the hidden class (map) that all such entries share.
 *
 * Why: Node builds each nextTick entry with an object literal whose first keys are computed
 * symbols (`{ [async_id_symbol]: id, [trigger_async_id_symbol]: id, callback, args }`). V8 keys
 * such a literal's fast path on the one map it has seen, and holds that map weakly. After a quiet
 * spell no entry is alive, a full GC frees the maps, and the next entry no longer matches the
 * remembered one: V8 marks the site megamorphic, for good. From then on every nextTick (node:http
 * schedules several per request) defines its properties through the runtime.
 * Measured on the bench data (`quiver serve`, `wrk -t1 -c32`, 30 s of load, then 90 s idle, then
 * `perf record`): 2.3 µs of CPU per request in `Runtime_DefineKeyedOwnPropertyInLiteral`, ~7% of
 * a one-entity request, in each of two processes that had been idle, and none in the processes
 * holding one entry. `node --import tsx bench/next-tick.ts` reproduces it in isolation (full GCs
 * forced instead of waited for): ~390 ns per nextTick against ~80 ns.
 *
 * One entry, whose callback is a no-op, is all it takes: a live object keeps its map alive, and
 * a map keeps the maps it transitioned from. The entry is caught with an async hook that is on
 * only around one nextTick call, so no hook runs afterwards. Should a later Node stop reporting
 * TickObject resources to hooks, nothing breaks: this returns undefined, and its test fails.
 */
import { createHook } from 'node:async_hooks';

let pinned: object | undefined;

function noop(): void {}

/** Pins the nextTick entry's hidden class (once per process); returns the entry it holds. */
export function pinNextTickShape(): object | undefined {
  if (pinned !== undefined) return pinned;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && pinned === undefined) pinned = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return pinned;
}
